/**
 * The default seccomp filter: Docker's default profile (see dockerProfile.ts) compiled to a
 * classic BPF program for x86_64, which the init installs right before it execs the workload
 * (and `pocker exec` before its command). An allow list: a call the profile does not allow fails
 * with EPERM; a call newer than every call this build knows fails with ENOSYS, so that a libc
 * falls back to an older call as it would on an older kernel. Calls Docker allows only with a
 * capability are allowed when the container holds it. Other ABIs (i386, x32) are refused outright.
 */
import type { Capability } from '../../spec/capabilities.js';
import { AF_VSOCK, ALLOWED_WITH_CAPABILITY, ALWAYS_ALLOWED, CLONE_NAMESPACE_FLAGS, PERSONALITY_VALUES } from './dockerProfile.js';
import { SYSCALLS_X86_64 } from './syscalls.x86_64.js';

const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;
const EPERM = 1;
const ENOSYS = 38;

// BPF opcodes (linux/filter.h, linux/seccomp.h)
const LD_W_ABS = 0x20;
const JA = 0x05;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
// seccomp_data offsets: nr, arch, instruction pointer, then 6 arguments of 8 bytes (little-endian).
const OFF_NR = 0;
const OFF_ARCH = 4;
const argLo = (i: number): number => 16 + 8 * i;
const argHi = (i: number): number => 20 + 8 * i;

/** One instruction: [code, jt, jf, k]. */
export type Insn = [code: number, jt: number, jf: number, k: number];

/** What the filter does with one call. */
export type SyscallRule =
  | { action: 'allow' }
  | { action: 'errno'; errno: number }
  /** Allowed when the given argument (its low 32 bits) has one of these values, and its high 32 bits are 0; EPERM otherwise. */
  | { action: 'allow-if-arg-in'; arg: number; values: readonly number[] }
  /** Allowed unless the given argument (its low 32 bits) equals the value; EPERM then. */
  | { action: 'allow-if-arg-not'; arg: number; value: number }
  /** Allowed when the given argument has none of these bits; EPERM otherwise. */
  | { action: 'allow-if-arg-clear'; arg: number; mask: number };

/** The rule for every x86_64 call this build knows, for a container holding these capabilities. */
export function seccompRules(caps: readonly Capability[]): Map<number, SyscallRule & { name: string }> {
  const allowed = new Set(ALWAYS_ALLOWED);
  for (const c of caps) for (const n of ALLOWED_WITH_CAPABILITY[c] ?? []) allowed.add(n);
  const sysAdmin = caps.includes('SYS_ADMIN');
  const rules = new Map<number, SyscallRule & { name: string }>();
  for (const [name, nr] of Object.entries(SYSCALLS_X86_64)) {
    let rule: SyscallRule;
    if (allowed.has(name)) rule = { action: 'allow' };
    else if (name === 'personality') rule = { action: 'allow-if-arg-in', arg: 0, values: PERSONALITY_VALUES };
    else if (name === 'socket') rule = { action: 'allow-if-arg-not', arg: 0, value: AF_VSOCK };
    else if (name === 'clone') rule = { action: 'allow-if-arg-clear', arg: 0, mask: CLONE_NAMESPACE_FLAGS };
    else if (name === 'clone3' && !sysAdmin) rule = { action: 'errno', errno: ENOSYS };
    else rule = { action: 'errno', errno: EPERM };
    rules.set(nr, { ...rule, name });
  }
  return rules;
}

/** Names of the calls a container with these capabilities may make (for docs, tests and inspect). */
export function allowedSyscalls(caps: readonly Capability[]): string[] {
  return [...seccompRules(caps).values()]
    .filter((r) => r.action !== 'errno')
    .map((r) => r.name)
    .sort();
}

const ret = (k: number): Insn => [RET_K, 0, 0, k];
const errno = (e: number): Insn => ret(RET_ERRNO | e);

/** The instructions that carry out one rule (the accumulator holds the call number on entry; each path ends in a return). */
function ruleCode(r: SyscallRule): Insn[] {
  switch (r.action) {
    case 'allow':
      return [ret(RET_ALLOW)];
    case 'errno':
      return [errno(r.errno)];
    case 'allow-if-arg-in': {
      const code: Insn[] = [[LD_W_ABS, 0, 0, argHi(r.arg)], [JEQ_K, 1, 0, 0], errno(EPERM), [LD_W_ABS, 0, 0, argLo(r.arg)]];
      r.values.forEach((v, i) => code.push([JEQ_K, r.values.length - i, 0, v >>> 0]));
      code.push(errno(EPERM), ret(RET_ALLOW));
      return code;
    }
    case 'allow-if-arg-not':
      return [[LD_W_ABS, 0, 0, argLo(r.arg)], [JEQ_K, 0, 1, r.value >>> 0], errno(EPERM), ret(RET_ALLOW)];
    case 'allow-if-arg-clear':
      return [[LD_W_ABS, 0, 0, argLo(r.arg)], [JSET_K, 0, 1, r.mask >>> 0], errno(EPERM), ret(RET_ALLOW)];
  }
}

/** Leaves of the decision tree hold at most this many calls, tested one after the other. */
const LEAF = 8;

/**
 * A binary search over the sorted call numbers: "number >= pivot" picks the half; a leaf tests
 * its numbers one by one; a number in none of them (a gap of the table) gets EPERM. Far jumps go
 * through JA, whose offset is 32 bits (the conditional jumps' are 8).
 */
function tree(entries: ReadonlyArray<[number, SyscallRule]>): Insn[] {
  if (entries.length <= LEAF) {
    const code: Insn[] = [];
    for (const [nr, rule] of entries) {
      const body = ruleCode(rule);
      code.push([JEQ_K, 0, body.length, nr], ...body);
    }
    code.push(errno(EPERM));
    return code;
  }
  const mid = Math.floor(entries.length / 2);
  const left = tree(entries.slice(0, mid));
  const right = tree(entries.slice(mid));
  return [[JGE_K, 0, 1, entries[mid]![0]], [JA, 0, 0, left.length], ...left, ...right];
}

/** The filter for x86_64 as instructions, for a container holding these capabilities. */
export function seccompProgram(caps: readonly Capability[]): Insn[] {
  const rules = [...seccompRules(caps)].sort(([a], [b]) => a - b);
  const newest = rules[rules.length - 1]![0];
  return [
    [LD_W_ABS, 0, 0, OFF_ARCH],
    [JEQ_K, 1, 0, AUDIT_ARCH_X86_64],
    errno(EPERM), // other ABIs (i386) are refused outright
    [LD_W_ABS, 0, 0, OFF_NR],
    [JGE_K, 0, 1, X32_SYSCALL_BIT],
    errno(EPERM), // and the x32 ABI
    [JGE_K, 0, 1, newest + 1],
    errno(ENOSYS), // calls newer than this build knows: as on an older kernel
    ...tree(rules),
  ];
}

/** Whether this machine's architecture has a default filter. */
export function seccompSupported(arch = process.arch): boolean {
  return arch === 'x64';
}

/** The filter as the bytes of a struct sock_filter array (what the init's prctl takes). */
export function seccompBytes(caps: readonly Capability[]): Buffer {
  const prog = seccompProgram(caps);
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
