/** Linux capabilities by name (capability.h numbering). */
export const CAPABILITIES = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT', 'SYS_PTRACE',
  'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE', 'AUDIT_WRITE',
  'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ', 'PERFMON', 'BPF',
  'CHECKPOINT_RESTORE',
] as const;

export type Capability = (typeof CAPABILITIES)[number];

/** Docker's (and containerd's) default set: what an unprivileged container keeps. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN', 'DAC_OVERRIDE', 'FSETID', 'FOWNER', 'MKNOD', 'NET_RAW', 'SETGID', 'SETUID', 'SETFCAP', 'SETPCAP', 'NET_BIND_SERVICE', 'SYS_CHROOT', 'KILL', 'AUDIT_WRITE',
];

/** Normalizes "cap_sys_admin", "SYS_ADMIN", "CAP_SYS_ADMIN" to "SYS_ADMIN"; null when unknown. ALL stands for every capability. */
export function capabilityName(raw: string): Capability | 'ALL' | null {
  const n = raw.toUpperCase().replace(/^CAP_/, '');
  if (n === 'ALL') return 'ALL';
  return (CAPABILITIES as readonly string[]).includes(n) ? (n as Capability) : null;
}

/** The capability set a container runs with: privileged = all, else the default set plus add, minus drop. */
export function effectiveCapabilities(privileged: boolean, add: readonly string[], drop: readonly string[]): Capability[] {
  const names = (list: readonly string[]): Array<Capability | 'ALL'> => list.map(capabilityName).filter((c): c is Capability | 'ALL' => c !== null);
  let set = new Set<Capability>(privileged ? CAPABILITIES : DEFAULT_CAPABILITIES);
  for (const c of names(add)) {
    if (c === 'ALL') set = new Set(CAPABILITIES);
    else set.add(c);
  }
  for (const c of names(drop)) {
    if (c === 'ALL') set.clear();
    else set.delete(c);
  }
  return CAPABILITIES.filter((c) => set.has(c));
}

/** The set as a 64-bit mask, in hex (what the init's capset and bounding-set drop take). */
export function capabilityMask(caps: readonly Capability[]): string {
  let mask = 0n;
  for (const c of caps) mask |= 1n << BigInt(CAPABILITIES.indexOf(c));
  return mask.toString(16);
}
