import type { CgroupUsage } from './usage.js';
import { join } from 'node:path';
import type { Limits } from '../limits/limits.js';
import { CONTAINER_NAME } from '../spec/names.js';
import type { Host, HostReader } from '../host/host.js';

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
  /** What the container uses now (CPU time, memory, swap, pids, block I/O); null when it has no cgroup. */
  usage(name: string, host: HostReader): CgroupUsage | null;
  /** Kills whatever is left in the container's cgroups and removes them. */
  remove(name: string, host: Host): Promise<void>;
  /** Names of container cgroups under the parent. */
  list(host: HostReader): string[];
  /** Pids of every process in the container's cgroup (empty when it has none or no cgroup). */
  procs(name: string, host: HostReader): number[];
  /**
   * A child cgroup of the container's, for one command pocker runs inside it (a health check):
   * made fresh for each command (what an earlier one left is killed first), under the
   * container's limits, and killable as a whole whatever the command started (cgroup.kill, or
   * every listed process where the kernel has none).
   */
  checkGroup(name: string, host: Host): Promise<CheckGroup>;
  /** Removes the monitors cgroup and the parent when nothing is left in them. */
  removeParentIfEmpty(host: Host): void;
}

/** Where a command run inside a container goes, and how to end everything it started. */
export interface CheckGroup {
  placement: CgroupPlacement;
  /**
   * Kills every process in the group, waits until it is empty and removes it. (A cgroup once
   * killed through cgroup.kill is never reused: some kernels kill every later CLONE_INTO_CGROUP
   * child of it at once.)
   */
  kill(): Promise<void>;
}

/** The child cgroup of a container that its health checks run in ("_" keeps it apart from names). */
export const CHECK_CGROUP = '_check';

/**
 * Kills every process of one cgroup directory (cgroup.kill when the kernel has it), waits until
 * none is left and removes the directory (retrying while the kernel still calls it busy, 2 s at most).
 */
export async function killGroup(dir: string, host: Host): Promise<void> {
  for (let i = 0; host.kind(dir) === 'dir'; i++) {
    if (readProcs(host, join(dir, 'cgroup.procs')).length) {
      if (host.kind(join(dir, 'cgroup.kill')) === 'file') host.writeFile(join(dir, 'cgroup.kill'), '1');
      else killProcsIn([join(dir, 'cgroup.procs')], host);
    } else {
      try {
        host.rmdir(dir);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || i >= 200) throw e;
      }
    }
    await sleep(10);
  }
}

/** Removes a container's check group (killing what is left in it), so the container's own cgroup can go. */
export async function removeCheckGroup(containerDir: string, host: Host): Promise<void> {
  await killGroup(join(containerDir, CHECK_CGROUP), host);
}

/** The cgroup that holds monitors, under the parent; "_" keeps it apart from container names (DNS labels). */
export const MONITORS_CGROUP = '_monitors';

/** Container cgroups are named after containers: DNS labels. */
export const CONTAINER_CGROUP_NAME = CONTAINER_NAME;

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

/** The pids a cgroup.procs file lists (none when it does not exist). */
export function readProcs(host: HostReader, procsFile: string): number[] {
  return (host.readFile(procsFile) ?? '')
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((n) => n > 0);
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
