import { canonicalIo, ioChanges, IO_KEYS, unthrottled, type IoDeviceLimits } from '../limits/io.js';

/** The v1 blkio files holding each throttle, one "MAJ:MIN value" line per throttled device. */
export const V1_IO_FILES: Record<(typeof IO_KEYS)[number], string> = {
  rbps: 'blkio.throttle.read_bps_device',
  wbps: 'blkio.throttle.write_bps_device',
  riops: 'blkio.throttle.read_iops_device',
  wiops: 'blkio.throttle.write_iops_device',
};

/** Values at or above these read as "no limit" (the kernel keeps bps in 64 bits, IOPS in 32, all-ones = unlimited). */
const UNLIMITED_BPS = 2 ** 64 - 1;
const UNLIMITED_IOPS = 2 ** 32 - 1;

function throttleValue(key: (typeof IO_KEYS)[number], text: string): number | 'max' | null {
  if (text === 'max') return 'max';
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= (key.endsWith('bps') ? UNLIMITED_BPS : UNLIMITED_IOPS) ? 'max' : n;
}

const DEV = /^\d+:\d+$/;

/** Parses cgroup v2 io.max ("8:16 rbps=1048576 wbps=max riops=max wiops=max" per line) into canonical form. */
export function parseIoMax(text: string): IoDeviceLimits[] {
  const out: IoDeviceLimits[] = [];
  for (const line of text.split('\n')) {
    const [dev, ...tokens] = line.trim().split(/\s+/);
    if (!dev || !DEV.test(dev)) continue;
    const d = unthrottled(dev);
    for (const t of tokens) {
      const [k, v] = t.split('=');
      const key = IO_KEYS.find((x) => x === k);
      const value = key && v !== undefined ? throttleValue(key, v) : null;
      if (key && value !== null) d[key] = value;
    }
    out.push(d);
  }
  return canonicalIo(out);
}

/** The io.max line that sets every throttle of one device ("max" lifts one). */
export function ioMaxLine(d: IoDeviceLimits): string {
  return `${d.dev} ${IO_KEYS.map((k) => `${k}=${d[k]}`).join(' ')}`;
}

/** The io.max lines that turn `have` into `want`, one per changed device. */
export function ioMaxWrites(want: readonly IoDeviceLimits[], have: readonly IoDeviceLimits[]): string[] {
  return ioChanges(want, have).map(ioMaxLine);
}

/** Parses the four v1 blkio.throttle files (text per throttle; null = file missing) into canonical form. */
export function parseV1Throttles(files: Readonly<Record<(typeof IO_KEYS)[number], string | null>>): IoDeviceLimits[] {
  const byDev = new Map<string, IoDeviceLimits>();
  for (const key of IO_KEYS) {
    for (const line of (files[key] ?? '').split('\n')) {
      const [dev, v] = line.trim().split(/\s+/);
      if (!dev || !DEV.test(dev) || v === undefined) continue;
      const value = throttleValue(key, v);
      if (value === null) continue;
      const d = byDev.get(dev) ?? unthrottled(dev);
      d[key] = value;
      byDev.set(dev, d);
    }
  }
  return canonicalIo([...byDev.values()]);
}

/** The v1 writes that turn `have` into `want`: file and "MAJ:MIN value" for each changed throttle ("0" lifts one). */
export function v1ThrottleWrites(want: readonly IoDeviceLimits[], have: readonly IoDeviceLimits[]): Array<{ file: string; value: string }> {
  const had = new Map(have.map((d) => [d.dev, d]));
  const writes: Array<{ file: string; value: string }> = [];
  for (const w of ioChanges(want, have)) {
    const h = had.get(w.dev) ?? unthrottled(w.dev);
    for (const key of IO_KEYS)
      if (w[key] !== h[key]) writes.push({ file: V1_IO_FILES[key], value: `${w.dev} ${w[key] === 'max' ? 0 : w[key]}` });
  }
  return writes;
}
