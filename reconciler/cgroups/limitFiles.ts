import { canonicalCpuList } from '../spec/cpuset.js';
import { DEFAULT_CPU_SHARES, DEFAULT_CPU_WEIGHT, type Limits } from '../limits/limits.js';
import { parseMax } from './driver.js';

/** The limits held in one cgroupfs file per version, each written on its own (no order against another limit). */
export type SimpleLimit = 'cpusetCpus' | 'cpuWeight' | 'pids';

/** Which cgroup version a file is read or written for. */
export type LimitVersion = 'v1' | 'v2';

/**
 * How one simple limit lives in cgroupfs, for both drivers (and the fake host of the tests): its
 * file per version, what a new cgroup holds, the text written, the value read back. Adding such
 * a limit is one entry here; the drivers write and read every entry.
 */
export interface LimitFile<K extends SimpleLimit = SimpleLimit> {
  key: K;
  v1: { controller: string; file: string };
  v2: { controller: string; file: string };
  /** The value of a new cgroup (defaultCpuset: what v1 copies from the parent). */
  fresh(version: LimitVersion, defaultCpuset: string): Limits[K];
  /** The text to write. */
  text(value: Limits[K], version: LimitVersion): string;
  /** The value from the file's text (null: the file is not there). */
  parse(text: string | null, version: LimitVersion): Limits[K];
}

function limitFile<K extends SimpleLimit>(f: LimitFile<K>): LimitFile<K> {
  return f;
}

/** Every simple limit, in the order they are written. */
export const LIMIT_FILES: readonly LimitFile[] = [
  limitFile({
    key: 'cpusetCpus',
    v1: { controller: 'cpuset', file: 'cpuset.cpus' },
    v2: { controller: 'cpuset', file: 'cpuset.cpus' },
    fresh: (version, defaultCpuset) => (version === 'v1' ? defaultCpuset : ''),
    // v2 takes an empty line for "inherit the parent's CPUs"; v1 refuses an empty list.
    text: (v, version) => (version === 'v2' ? v || '\n' : v),
    parse: (text) => canonicalCpuList(text ?? ''),
  }),
  limitFile({
    key: 'cpuWeight',
    v1: { controller: 'cpu', file: 'cpu.shares' },
    v2: { controller: 'cpu', file: 'cpu.weight' },
    fresh: (version) => (version === 'v1' ? DEFAULT_CPU_SHARES : DEFAULT_CPU_WEIGHT),
    text: (v) => String(v),
    parse: (text, version) => Number(text ?? (version === 'v1' ? DEFAULT_CPU_SHARES : DEFAULT_CPU_WEIGHT)),
  }),
  limitFile({
    key: 'pids',
    v1: { controller: 'pids', file: 'pids.max' },
    v2: { controller: 'pids', file: 'pids.max' },
    fresh: () => 'max' as const,
    text: (v) => String(v),
    parse: (text) => parseMax(text) ?? 'max',
  }),
];

/** The simple limits of a new cgroup. */
export function freshSimpleLimits(version: LimitVersion, defaultCpuset: string): Pick<Limits, SimpleLimit> {
  const out = {} as Record<SimpleLimit, unknown>;
  for (const f of LIMIT_FILES) out[f.key] = f.fresh(version, defaultCpuset);
  return out as Pick<Limits, SimpleLimit>;
}

/** The simple limits read back through `file(entry)` (the entry's file text, or null). */
export function readSimpleLimits(version: LimitVersion, file: (f: LimitFile) => string | null): Pick<Limits, SimpleLimit> {
  const out = {} as Record<SimpleLimit, unknown>;
  for (const f of LIMIT_FILES) out[f.key] = f.parse(file(f), version);
  return out as Pick<Limits, SimpleLimit>;
}
