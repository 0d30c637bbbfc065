import type { Limits } from '../../plan/limits.js';
import type { Host, HostReader } from '../host.js';

/** Which cgroup layout the host has. hybrid = v1 controllers plus a controller-less cgroup2 tree. */
export type CgroupVersion = 'v1' | 'hybrid' | 'v2';

/**
 * What the monitor needs to place the init (and itself) in cgroups without ever taking the
 * kernel's global threadgroup lock (writing a pid to cgroup.procs takes it, costing an RCU grace
 * period and stalling every fork on the host): on cgroup2 processes are cloned into their cgroup
 * (CLONE_INTO_CGROUP); in v1 hierarchies a process moves itself by writing "0" to "tasks".
 */
export interface CgroupPlacement {
  /** v1 "tasks" files the init writes "0" to before it does anything else. */
  taskFiles: string[];
  /** cgroup2 directory the init is cloned into (v2 and hybrid). */
  cgroup2Dir?: string;
  /** File holding the container's "oom_kill N" counter. */
  oomFile: string;
  /** v1 "tasks" files the monitor joins (outside the container's limits). */
  monitorTaskFiles: string[];
  /** cgroup2 directory the monitor is cloned into (v2 and hybrid). */
  monitorCgroup2Dir?: string;
}

/** Host facts a driver contributes to the canonical form of limits. */
export interface CgroupFacts {
  /** An unset cpuset means this CPU list (v1: the parent's) or "" (v2: inherit). */
  defaultCpuset: string;
  /** memsw can differ from memory (swap accounting is on). */
  memswSupported: boolean;
  /** v1 weighs CPU in cpu.shares, v2 in cpu.weight. */
  cpuWeightUnit: 'shares' | 'weight';
  /** Block I/O can be throttled: v1 blkio (with throttling built in), or v2 io offered to pocker's parent. */
  ioSupported: boolean;
}

/**
 * One cgroup backend (v1, hybrid, v2). Every container's cgroups are `<parent>/<name>` in each
 * hierarchy; monitors live in `<parent>/monitors`. All writes go through the Host.
 */
export interface CgroupDriver {
  readonly version: CgroupVersion;
  /** Cgroup parent path relative to each hierarchy root. */
  readonly parent: string;
  /** The container's cgroup directories, one per hierarchy. */
  dirs(name: string): string[];
  placement(name: string): CgroupPlacement;
  facts(host: HostReader): CgroupFacts;
  /** Creates the parent (and the monitors cgroup) with controllers enabled; idempotent. */
  ensureParent(host: Host): void;
  /**
   * Creates the container's cgroups (fresh) and writes the limits that differ from the defaults.
   * deviceRules (v1 devices cgroup syntax) restrict which device nodes can be opened; null leaves
   * devices open (privileged). cgroup v2 has no devices file: there an unprivileged container's
   * writable filesystems are nodev instead (see runtime/security/policy.ts).
   */
  create(name: string, limits: Limits, host: Host, deviceRules?: readonly string[] | null): void;
  /** Writes the limits that differ from `have`, in an order the kernel accepts. */
  update(name: string, want: Limits, have: Limits, host: Host): void;
  /** Reads the limits back; null when the container has no cgroup. */
  read(name: string, host: HostReader): Limits | null;
  /** Kills whatever is left in the container's cgroups and removes them. */
  remove(name: string, host: Host): Promise<void>;
  /** Names of container cgroups under the parent. */
  list(host: HostReader): string[];
  /** Removes the monitors cgroup and the parent when nothing is left in them. */
  removeParentIfEmpty(host: Host): void;
}

/** The cgroup that holds monitors, under the parent; "_" keeps it apart from container names (DNS labels). */
export const MONITORS_CGROUP = '_monitors';

/** Container cgroups are named after containers: DNS labels. */
export const CONTAINER_CGROUP_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Parses a cgroup number that may be "max" (or a v1 "unlimited" sentinel). */
export function parseMax(text: string | null, unlimitedAtOrAbove = 2 ** 60): number | 'max' | null {
  if (text === null) return null;
  const t = text.trim();
  if (t === 'max' || t === '-1') return 'max';
  const n = Number(t);
  if (!Number.isFinite(n)) return null;
  return n >= unlimitedAtOrAbove ? 'max' : n;
}

/** Sleeps without blocking the event loop. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Kills every process listed in the given cgroup.procs files (leftovers of a dead container). */
export function killProcsIn(procsFiles: string[], host: Host): number {
  let killed = 0;
  for (const f of procsFiles) {
    for (const line of (host.readFile(f) ?? '').split('\n')) {
      const pid = Number(line);
      if (!pid) continue;
      const startTime = host.procStartTime(pid);
      if (startTime !== null && host.signal({ pid, startTime }, 9)) killed++;
    }
  }
  return killed;
}
