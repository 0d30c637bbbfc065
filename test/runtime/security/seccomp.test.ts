import { describe, expect, it } from 'vitest';
import { DEFAULT_CAPABILITIES } from '../../../reconciler/runtime/security/capabilities.js';
import type { Capability } from '../../../reconciler/spec/capabilities.js';
import { ALLOWED_WITH_CAPABILITY, ALWAYS_ALLOWED } from '../../../reconciler/runtime/security/dockerProfile.js';
import { allowedSyscalls, seccompProgram, seccompRules, type Insn } from '../../../reconciler/runtime/security/seccomp.js';
import { SYSCALLS_X86_64 } from '../../../reconciler/runtime/security/syscalls.x86_64.js';

const X86_64 = 0xc000003e;
const I386 = 0x40000003;

/** Runs a classic BPF seccomp program the way the kernel does; returns its verdict. */
function run(prog: Insn[], nr: number, args: bigint[] = [], arch = X86_64): number {
  const word = (off: number): number => {
    if (off === 0) return nr >>> 0;
    if (off === 4) return arch >>> 0;
    const i = Math.floor((off - 16) / 8);
    const v = args[i] ?? 0n;
    return Number(off % 8 === 0 ? v & 0xffffffffn : (v >> 32n) & 0xffffffffn);
  };
  let acc = 0;
  for (let pc = 0; pc < prog.length; pc++) {
    const [code, jt, jf, k] = prog[pc]!;
    switch (code) {
      case 0x20:
        acc = word(k);
        break;
      case 0x05:
        pc += k;
        break;
      case 0x15:
        pc += acc === k >>> 0 ? jt : jf;
        break;
      case 0x35:
        pc += acc >= k >>> 0 ? jt : jf;
        break;
      case 0x45:
        pc += (acc & k) !== 0 ? jt : jf;
        break;
      case 0x06:
        return k >>> 0;
      default:
        throw new Error(`opcode ${code} at ${pc}`);
    }
  }
  throw new Error('fell off the end of the program');
}
const ALLOW = 0x7fff0000;
const EPERM = 0x00050001;
const ENOSYS = 0x00050026;
const nr = (name: string): number => SYSCALLS_X86_64[name]!;

describe("the default seccomp filter (Docker's profile, compiled)", () => {
  const caps = DEFAULT_CAPABILITIES;
  const prog = seccompProgram(caps);

  it("fits the kernel's limits: at most 4096 instructions, every jump inside the program", () => {
    expect(prog.length).toBeLessThan(4096);
    prog.forEach(([code, jt, jf, k], pc) => {
      if (code === 0x05) expect(pc + 1 + k).toBeLessThan(prog.length);
      if ([0x15, 0x35, 0x45].includes(code)) expect(pc + 1 + Math.max(jt, jf)).toBeLessThan(prog.length);
      expect(jt).toBeLessThan(256);
      expect(jf).toBeLessThan(256);
    });
  });

  it('does for every known call exactly what its rule says, and ENOSYS beyond them', () => {
    for (const [number, rule] of seccompRules(caps)) {
      const got = run(prog, number);
      if (rule.action === 'allow') expect(got, rule.name).toBe(ALLOW);
      else if (rule.action === 'errno') expect(got, rule.name).toBe(0x00050000 | rule.errno);
    }
    const newest = Math.max(...Object.values(SYSCALLS_X86_64));
    for (const n of [newest + 1, newest + 17, 1000, 0x3fffffff]) expect(run(prog, n), String(n)).toBe(ENOSYS);
    expect(run(prog, 335), 'a gap of the table').toBe(EPERM);
  });

  it("allows exactly Docker's calls for the default capabilities, and nothing Docker does not", () => {
    const docker = new Set([...ALWAYS_ALLOWED, ...caps.flatMap((c) => ALLOWED_WITH_CAPABILITY[c] ?? []), 'personality', 'socket', 'clone']);
    const allowed = allowedSyscalls(caps);
    expect(allowed.filter((n) => !docker.has(n))).toEqual([]);
    expect([...docker].filter((n) => n in SYSCALLS_X86_64 && !allowed.includes(n))).toEqual([]);
    for (const denied of [
      'mount',
      'umount2',
      'unshare',
      'setns',
      'init_module',
      'finit_module',
      'kexec_load',
      'bpf',
      'keyctl',
      'add_key',
      'perf_event_open',
      'userfaultfd',
      'io_uring_setup',
      'io_uring_enter',
      'ptrace_not_a_call',
      'open_tree',
      'move_mount',
      'fsopen',
      'reboot',
      'swapon',
      'settimeofday',
      'iopl',
      'pivot_root',
      'kcmp',
    ]) {
      if (denied in SYSCALLS_X86_64) expect(run(prog, nr(denied)), denied).toBe(EPERM);
    }
  });

  it('filters arguments as Docker does: personality, AF_VSOCK sockets, namespace flags of clone; clone3 gets ENOSYS', () => {
    for (const v of [0x0, 0x8, 0x20000, 0x20008, 0xffffffff]) expect(run(prog, nr('personality'), [BigInt(v)]), v.toString(16)).toBe(ALLOW);
    for (const v of [0x400000n, 0x40000n, 0x1n, 0x100000008n]) expect(run(prog, nr('personality'), [v]), v.toString(16)).toBe(EPERM);
    expect(run(prog, nr('socket'), [2n])).toBe(ALLOW);
    expect(run(prog, nr('socket'), [40n])).toBe(EPERM);
    expect(run(prog, nr('clone'), [0x11n])).toBe(ALLOW);
    expect(run(prog, nr('clone'), [0x10000000n | 0x11n])).toBe(EPERM);
    expect(run(prog, nr('clone3'))).toBe(ENOSYS);
    expect(run(prog, nr('read'), [], I386)).toBe(EPERM);
    expect(run(prog, 0x40000000 + nr('read'))).toBe(EPERM);
  });

  it('allows what a capability the container holds unlocks, as Docker does', () => {
    const admin = seccompProgram([...caps, 'SYS_ADMIN'] as Capability[]);
    for (const n of ['mount', 'umount2', 'unshare', 'setns', 'clone3']) expect(run(admin, nr(n)), n).toBe(ALLOW);
    expect(run(admin, nr('clone'), [0x10000000n])).toBe(ALLOW);
    const tracer = seccompProgram([...caps, 'SYS_PTRACE'] as Capability[]);
    expect(run(tracer, nr('kcmp'))).toBe(ALLOW);
    expect(run(prog, nr('chroot'))).toBe(ALLOW);
    expect(run(seccompProgram(caps.filter((c) => c !== 'SYS_CHROOT')), nr('chroot'))).toBe(EPERM);
  });
});

describe('what inspect and the start-up warning say of the filter', () => {
  it('names the filter on x86_64 and warns where there is none', async () => {
    const { seccompDescription } = await import('../../../reconciler/runtime/security/policy.js');
    const { desired, specObj } = await import('../../helpers/specs.js');
    const spec = desired(specObj('c')).spec;
    expect(seccompDescription(spec, 'x64')).toMatch(/^Docker's default profile/);
    expect(seccompDescription({ ...spec, privileged: true }, 'x64')).toBe('none (privileged)');
    expect(seccompDescription(spec, 'arm64')).toMatch(/^NONE: pocker has no seccomp filter for arm64/);
  });
});
