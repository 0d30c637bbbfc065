import type { CgroupDriver } from '../cgroups/driver.js';
import { workingSet, type CgroupUsage } from '../cgroups/usage.js';
import type { HostReader } from '../host/host.js';
import { vethCounters } from './snapshot.js';
import type { InstanceDirs } from '../state/layout.js';

/** One reading of a container: its cgroup usage, its veth's counters, its CPU limit, and when. */
export interface UsageSample {
  name: string;
  atMs: number;
  usage: CgroupUsage;
  /** CPUs its quota allows (null: no quota). */
  cpuLimit: number | null;
  /** Its memory limit (null: none). */
  memoryLimit: number | null;
  /** Bytes the container received and sent (bridge containers: its host veth's counters, seen from inside). */
  net: { rx: number; tx: number } | null;
}

/** What `pocker stats` shows of a container, from two samples. */
export interface StatsRow {
  name: string;
  /** CPU used between the samples, in % of one CPU. */
  cpuPercent: number;
  /** The same, in % of what its quota allows (null without a quota). */
  cpuPercentOfQuota: number | null;
  memoryBytes: number;
  memoryLimit: number | null;
  memoryPercent: number | null;
  workingSetBytes: number;
  swapBytes: number | null;
  pids: number;
  blockReadBytes: number;
  blockWriteBytes: number;
  netRxBytes: number | null;
  netTxBytes: number | null;
}

/** Reads a container's usage now; null when it has no cgroup. */
export function sampleUsage(
  host: HostReader,
  dirs: InstanceDirs,
  driver: CgroupDriver,
  name: string,
  now = Date.now(),
): UsageSample | null {
  const usage = driver.usage(name, host);
  if (!usage) return null;
  const limits = driver.read(name, host);
  const cpuLimit = limits && limits.cpuQuotaUs !== 'max' ? limits.cpuQuotaUs / limits.cpuPeriodUs : null;
  const memoryLimit = limits && limits.memory !== 'max' ? limits.memory : null;
  return { name, atMs: now, usage, cpuLimit, memoryLimit, net: vethCounters(host, dirs, name) };
}

/** The row of two samples of one container (CPU from their difference; the rest as of the second). */
export function statsRow(before: UsageSample, after: UsageSample): StatsRow {
  const wallNs = Math.max(1, (after.atMs - before.atMs) * 1e6);
  const cpuPercent = (Math.max(0, after.usage.cpuNs - before.usage.cpuNs) / wallNs) * 100;
  const u = after.usage;
  const limit = after.memoryLimit;
  const round = (n: number): number => Math.round(n * 10) / 10;
  return {
    name: after.name,
    cpuPercent: round(cpuPercent),
    cpuPercentOfQuota: after.cpuLimit ? round(cpuPercent / after.cpuLimit) : null,
    memoryBytes: u.memoryBytes,
    memoryLimit: limit,
    memoryPercent: limit ? round((u.memoryBytes / limit) * 100) : null,
    workingSetBytes: workingSet(u),
    swapBytes: u.swapBytes,
    pids: u.pids,
    blockReadBytes: u.ioReadBytes,
    blockWriteBytes: u.ioWriteBytes,
    netRxBytes: after.net?.rx ?? null,
    netTxBytes: after.net?.tx ?? null,
  };
}
