import { CAPABILITIES, capabilityName, type Capability } from '../../spec/capabilities.js';

/** Docker's (and containerd's) default set: what an unprivileged container keeps. */
export const DEFAULT_CAPABILITIES: readonly Capability[] = [
  'CHOWN',
  'DAC_OVERRIDE',
  'FSETID',
  'FOWNER',
  'MKNOD',
  'NET_RAW',
  'SETGID',
  'SETUID',
  'SETFCAP',
  'SETPCAP',
  'NET_BIND_SERVICE',
  'SYS_CHROOT',
  'KILL',
  'AUDIT_WRITE',
];

/** The capability set a container runs with: privileged = all, else the default set plus add, minus drop. */
export function effectiveCapabilities(privileged: boolean, add: readonly string[], drop: readonly string[]): Capability[] {
  const names = (list: readonly string[]): Array<Capability | 'ALL'> =>
    list.map(capabilityName).filter((c): c is Capability | 'ALL' => c !== null);
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
