import type { ContainerSpec } from '../../spec/types.js';
import { capabilityMask, effectiveCapabilities } from './capabilities.js';
import { seccompBytes, seccompSupported } from './seccomp.js';

/** Files of /proc and /sys hidden from unprivileged containers (as runc/Docker do): /dev/null is bound over them. */
export const MASKED_FILES = [
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/sysrq-trigger',
];

/** Directories hidden behind an empty read-only tmpfs. */
export const MASKED_DIRS = ['/proc/acpi', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap'];

/** Kernel interfaces made read-only (bound onto themselves, remounted read-only). */
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys'];

/** The device nodes a container gets (bound from the host: /dev itself is nodev). */
export const DEVICES = ['null', 'zero', 'full', 'random', 'urandom', 'tty'];

/**
 * v1 device cgroup rules (Docker's defaults): creating any node is allowed, opening only these:
 * null zero full random urandom tty console ptmx, the pty slaves, /dev/net/tun.
 */
export const DEVICE_ALLOW_RULES = [
  'c *:* m',
  'b *:* m',
  'c 1:3 rwm',
  'c 1:5 rwm',
  'c 1:7 rwm',
  'c 1:8 rwm',
  'c 1:9 rwm',
  'c 5:0 rwm',
  'c 5:1 rwm',
  'c 5:2 rwm',
  'c 136:* rwm',
  'c 10:200 rwm',
];

/** JSON of capability mask to filter hex, written into the bundle by its build. */
declare const POCKER_SECCOMP_FILTERS: string | undefined;

/**
 * The seccomp filter of each capability set seen, as the monitor config's hex: building it takes
 * about a millisecond (a few the first time in a process), and a pass starting many containers
 * asks for the same few sets. The bundle starts with the default set's, which
 * scripts/build-bundle.mjs built from these same sources.
 */
const seccompHexByCaps = new Map<string, string>(
  typeof POCKER_SECCOMP_FILTERS === 'string' ? Object.entries(JSON.parse(POCKER_SECCOMP_FILTERS) as Record<string, string>) : [],
);

/** What the init (and `pocker exec`) apply, as monitor config pairs. */
export function securityPairs(spec: ContainerSpec): Array<[string, string]> {
  const privileged = spec.privileged;
  const caps = effectiveCapabilities(privileged, spec.capabilities.add, spec.capabilities.drop);
  const mask = capabilityMask(caps);
  const pairs: Array<[string, string]> = [
    ['privileged', privileged ? '1' : '0'],
    ['caps', mask],
    ['no_new_privs', privileged ? '0' : '1'],
  ];
  if (!privileged && seccompSupported()) {
    let hex = seccompHexByCaps.get(mask);
    if (hex === undefined) seccompHexByCaps.set(mask, (hex = seccompBytes(caps).toString('hex')));
    pairs.push(['seccomp', hex]);
  }
  if (spec.user) pairs.push(['user', spec.user]);
  return pairs;
}

/** What syscall filter a container runs under, in words (inspect, and the controller's start-up warning). */
export function seccompDescription(spec: ContainerSpec, arch = process.arch): string {
  if (spec.privileged) return 'none (privileged)';
  if (!seccompSupported(arch))
    return `NONE: pocker has no seccomp filter for ${arch}; the container can make every system call its capabilities allow`;
  return "Docker's default profile (allow list, capability-dependent calls by the container's capabilities)";
}

/** Mount-time protections for the init: masked and read-only paths, nodev, read-only root. */
export function mountPairs(spec: ContainerSpec): Array<[string, string]> {
  const pairs: Array<[string, string]> = [];
  if (!spec.privileged) {
    for (const p of MASKED_FILES) pairs.push(['mask_file', p]);
    for (const p of MASKED_DIRS) pairs.push(['mask_dir', p]);
    for (const p of READONLY_PATHS) pairs.push(['ro_path', p]);
    pairs.push(['nodev', '1']);
  }
  for (const d of DEVICES) pairs.push(['dev', d]);
  if (spec.readOnlyRootfs) pairs.push(['readonly_rootfs', '1']);
  return pairs;
}
