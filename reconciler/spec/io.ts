import { absolutePathProblem } from './paths.js';
import { parseQuantity } from './quantity.js';
import type { IoLimit } from './types.js';

/** Smallest throttle the kernel takes (cgroup v2 rejects 0 and 1; v1 reads 0 as "no limit"). */
export const MIN_IO_LIMIT = 2;

/** Largest IOPS throttle: the kernel keeps IOPS in 32 bits and reads UINT_MAX as "no limit". */
export const MAX_IOPS = 2 ** 32 - 2;

/** One `resources.io` entry as the schema admits it. */
export interface RawIoLimit {
  device: string;
  readBps?: string | number;
  writeBps?: string | number;
  readIops?: number;
  writeIops?: number;
}

/** A problem of an io entry, located by its path inside the document. */
export interface IoPathError {
  path: Array<string | number>;
  message: string;
}

/**
 * Normalizes `resources.io`: quantities to bytes, entries sorted by device path (order carries no
 * meaning, so it does not change the hash). Every entry names a device once and sets a throttle.
 */
export function normalizeIo(raw: readonly RawIoLimit[], errors: IoPathError[]): IoLimit[] {
  const out: IoLimit[] = [];
  const seen = new Map<string, number>();
  raw.forEach((e, i) => {
    const at = (key: string): Array<string | number> => ['resources', 'io', i, key];
    const pathProblem = absolutePathProblem(e.device);
    if (pathProblem) errors.push({ path: at('device'), message: `resources.io[${i}].device: ${pathProblem}` });
    const prev = seen.get(e.device);
    if (prev !== undefined)
      errors.push({ path: at('device'), message: `resources.io[${i}]: device ${e.device} is already limited by resources.io[${prev}]` });
    seen.set(e.device, i);
    const entry: IoLimit = { device: e.device };
    for (const key of ['readBps', 'writeBps'] as const) {
      const v = e[key];
      if (v === undefined) continue;
      const r = parseQuantity(v);
      if ('error' in r) errors.push({ path: at(key), message: `resources.io[${i}].${key}: ${r.error}` });
      else if (r.bytes < MIN_IO_LIMIT)
        errors.push({ path: at(key), message: `resources.io[${i}].${key} must be at least ${MIN_IO_LIMIT} bytes per second (got ${v})` });
      else entry[key] = r.bytes;
    }
    for (const key of ['readIops', 'writeIops'] as const) {
      const v = e[key];
      if (v === undefined) continue;
      if (!Number.isInteger(v) || v < MIN_IO_LIMIT || v > MAX_IOPS)
        errors.push({
          path: at(key),
          message: `resources.io[${i}].${key} must be a whole number from ${MIN_IO_LIMIT} to ${MAX_IOPS} (got ${v})`,
        });
      else entry[key] = v;
    }
    if (Object.keys(e).length === 1)
      errors.push({
        path: ['resources', 'io', i],
        message: `resources.io[${i}] limits nothing: set readBps, writeBps, readIops or writeIops`,
      });
    out.push(entry);
  });
  return out.sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0));
}
