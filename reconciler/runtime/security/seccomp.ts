/**
 * The default seccomp filter, as a classic BPF program the init installs right before it execs
 * the workload (and `pocker exec` before its command). A deny list equivalent to the syscalls
 * Docker's/runc's default profile refuses a container without extra capabilities: kernel modules,
 * kexec, mount and the new mount API, namespaces (unshare, setns, namespace flags of clone),
 * keyrings, bpf, perf, userfaultfd, io_uring, raw I/O ports, clock and time setting, swap, reboot,
 * quotas, NUMA policy, cross-process memory access. Refused calls fail with EPERM; clone3 fails
 * with ENOSYS so that libc falls back to clone, whose flags a classic filter can inspect.
 */

/** x86_64 syscall numbers the default filter refuses. */
const DENIED_X86_64: Record<string, number> = {
  syslog: 103, sysfs: 139, vhangup: 153, pivot_root: 155, _sysctl: 156, acct: 163, settimeofday: 164, mount: 165,
  umount2: 166, swapon: 167, swapoff: 168, reboot: 169, iopl: 172, ioperm: 173, create_module: 174, init_module: 175,
  delete_module: 176, get_kernel_syms: 177, query_module: 178, quotactl: 179, nfsservctl: 180, uselib: 134, ustat: 136,
  lookup_dcookie: 212, clock_settime: 227, mbind: 237, set_mempolicy: 238, get_mempolicy: 239, kexec_load: 246,
  add_key: 248, request_key: 249, keyctl: 250, unshare: 272, move_pages: 279, perf_event_open: 298,
  name_to_handle_at: 303, open_by_handle_at: 304, clock_adjtime: 305, setns: 308, process_vm_readv: 310,
  process_vm_writev: 311, kcmp: 312, finit_module: 313, kexec_file_load: 320, bpf: 321, userfaultfd: 323,
  io_uring_setup: 425, io_uring_enter: 426, io_uring_register: 427, open_tree: 428, move_mount: 429, fsopen: 430,
  fsconfig: 431, fsmount: 432, fspick: 433, mount_setattr: 442, quotactl_fd: 443,
};

const NR_CLONE = 56;
const NR_CLONE3 = 435;
/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET. */
const CLONE_NAMESPACES = 0x7e020000;
const AUDIT_ARCH_X86_64 = 0xc000003e;
const X32_SYSCALL_BIT = 0x40000000;

// BPF opcodes (linux/filter.h, linux/seccomp.h)
const LD_W_ABS = 0x20;
const JEQ_K = 0x15;
const JGE_K = 0x35;
const JSET_K = 0x45;
const RET_K = 0x06;
const RET_ALLOW = 0x7fff0000;
const RET_ERRNO = 0x00050000;
const EPERM = 1;
const ENOSYS = 38;
// seccomp_data offsets
const OFF_NR = 0;
const OFF_ARCH = 4;
const OFF_ARG0_LO = 16;

type Insn = [code: number, jt: number, jf: number, k: number];

/** Names of the syscalls the default filter refuses (for docs and tests). */
export function deniedSyscalls(): string[] {
  return Object.keys(DENIED_X86_64).sort();
}

/** Whether this machine's architecture has a default filter. */
export function seccompSupported(arch = process.arch): boolean {
  return arch === 'x64';
}

/** The default filter for x86_64 as the bytes of a struct sock_filter array. */
export function defaultSeccompProgram(): Buffer {
  const deny = (errno: number): Insn => [RET_K, 0, 0, RET_ERRNO | errno];
  const prog: Insn[] = [
    [LD_W_ABS, 0, 0, OFF_ARCH],
    [JEQ_K, 1, 0, AUDIT_ARCH_X86_64],
    deny(EPERM), // other ABIs (i386, x32 compat) are refused outright
    [LD_W_ABS, 0, 0, OFF_NR],
    [JGE_K, 0, 1, X32_SYSCALL_BIT],
    deny(EPERM),
  ];
  for (const nr of Object.values(DENIED_X86_64).sort((a, b) => a - b)) prog.push([JEQ_K, 0, 1, nr], deny(EPERM));
  prog.push([JEQ_K, 0, 1, NR_CLONE3], deny(ENOSYS));
  prog.push(
    [JEQ_K, 0, 3, NR_CLONE],
    [LD_W_ABS, 0, 0, OFF_ARG0_LO],
    [JSET_K, 0, 1, CLONE_NAMESPACES],
    deny(EPERM),
    [RET_K, 0, 0, RET_ALLOW],
  );
  const buf = Buffer.alloc(prog.length * 8);
  prog.forEach(([code, jt, jf, k], i) => {
    buf.writeUInt16LE(code, i * 8);
    buf.writeUInt8(jt, i * 8 + 2);
    buf.writeUInt8(jf, i * 8 + 3);
    buf.writeUInt32LE(k >>> 0, i * 8 + 4);
  });
  return buf;
}
