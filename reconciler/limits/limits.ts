import type { Resources } from '../spec/types.js';
import { desiredIo, formatIo, sameIo, type BlockDeviceLookup, type IoDeviceLimits } from './io.js';

/** "No limit", as cgroup v2 writes it; v1 values at or above UNLIMITED_THRESHOLD read as this. */
export type Unlimited = 'max';

/**
 * Cgroup limits in the canonical form the kernel holds them, independent of the cgroup version:
 * what the planner compares, what drivers write and read back.
 */
export interface Limits {
  /** CFS quota per period in µs, or max. */
  cpuQuotaUs: number | Unlimited;
  /** CFS period in µs. */
  cpuPeriodUs: number;
  /** Canonical CPU list; "" means "inherit the parent's" (cgroup v2 only). */
  cpusetCpus: string;
  /** Memory limit in bytes, page-aligned, or max. */
  memory: number | Unlimited;
  /** Memory+swap limit in bytes, page-aligned, or max (v2 stores memory.swap.max = memsw - memory). */
  memsw: number | Unlimited;
  /** Process limit, or max. */
  pids: number | Unlimited;
  /** CPU weight in the host's unit: v1 cpu.shares, v2 cpu.weight. */
  cpuWeight: number;
  /** Frozen by the cgroup freezer (spec state paused). */
  frozen: boolean;
  /** Block I/O throttles, canonical (see plan/io.ts): sorted by device number, unthrottled devices left out. */
  io: IoDeviceLimits[];
}

/** Host facts the canonical form depends on. Gathered once per pass by the runtime; pure data. */
export interface LimitFacts {
  /** Kernel page size: memory limits round down to it. */
  pageSize: number;
  /** CFS period pocker uses. */
  cpuPeriodUs: number;
  /** What an unset cpuset means on this host: the parent's CPU list (v1) or "" (v2: inherit). */
  defaultCpuset: string;
  /** Swap accounting is on; without it memsw always equals memory. */
  memswSupported: boolean;
  /** How the host weighs CPU: v1 cpu.shares or v2 cpu.weight. */
  cpuWeightUnit: 'shares' | 'weight';
  /** The spec's block device paths resolved on this host (gathered with the other facts); absent = none resolved. */
  blockDevices?: Readonly<Record<string, BlockDeviceLookup>>;
}

/** The kernel's default CPU weights. */
export const DEFAULT_CPU_SHARES = 1024;
export const DEFAULT_CPU_WEIGHT = 100;

/** v1 shares to v2 weight, the conversion runc and crun use (2..262144 -> 1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** v1 files report "unlimited" as a huge page-aligned number; anything at or above this is max. */
export const UNLIMITED_THRESHOLD = 2 ** 60;

/** The CFS period pocker writes (the kernel default). */
export const DEFAULT_CPU_PERIOD_US = 100_000;

/** The kernel's smallest CFS quota. */
export const MIN_CPU_QUOTA_US = 1000;

function pageAlign(bytes: number, pageSize: number): number {
  return Math.floor(bytes / pageSize) * pageSize;
}

/** The limits a container's resources mean on this host, exactly as the kernel will hold them. */
export function desiredLimits(r: Resources, f: LimitFacts, paused = false): Limits {
  const memory = r.memory === undefined ? 'max' : pageAlign(r.memory, f.pageSize);
  let memsw: number | Unlimited;
  if (memory === 'max') memsw = 'max';
  else if (!f.memswSupported) memsw = memory;
  else if (r.memsw === 'unlimited') memsw = 'max';
  else if (r.memsw === undefined) memsw = memory;
  else memsw = Math.max(pageAlign(r.memsw, f.pageSize), memory);
  return {
    cpuQuotaUs: r.cpus === undefined ? 'max' : Math.max(MIN_CPU_QUOTA_US, Math.round(r.cpus * f.cpuPeriodUs)),
    cpuPeriodUs: f.cpuPeriodUs,
    cpusetCpus: r.cpuset ?? f.defaultCpuset,
    memory,
    memsw,
    pids: r.pids ?? 'max',
    cpuWeight:
      f.cpuWeightUnit === 'shares'
        ? (r.cpuShares ?? DEFAULT_CPU_SHARES)
        : r.cpuShares === undefined
          ? DEFAULT_CPU_WEIGHT
          : sharesToWeight(r.cpuShares),
    frozen: paused,
    io: desiredIo(r.io, f.blockDevices),
  };
}

/** The limit fields whose values differ. */
export function limitDiff(want: Limits, have: Limits): Array<keyof Limits> {
  return (Object.keys(want) as Array<keyof Limits>).filter((k) => (k === 'io' ? !sameIo(want.io, have.io) : want[k] !== have[k]));
}

/** Human form of one limit value for messages (`64Mi`, `max`, `50000/100000`). */
export function formatLimit(key: keyof Limits, l: Limits): string {
  if (key === 'io') return formatIo(l.io);
  const v = l[key];
  if (v === 'max') return 'max';
  if (key === 'cpusetCpus') return v === '' ? '(inherit)' : String(v);
  if ((key === 'memory' || key === 'memsw') && typeof v === 'number') {
    const mi = v / 2 ** 20;
    return Number.isInteger(mi) ? `${mi}Mi` : `${v}`;
  }
  if (key === 'cpuQuotaUs') return `${v}/${l.cpuPeriodUs}µs`;
  return String(v);
}
