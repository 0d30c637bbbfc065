import type { IoLimit } from '../spec/types.js';
import { formatBytes } from '../spec/quantity.js';

/** One block device's throttles as the kernel holds them (v1 blkio.throttle.*, v2 io.max). */
export interface IoDeviceLimits {
  /** The block device's number, "MAJ:MIN". */
  dev: string;
  /** Read bytes per second, or max. */
  rbps: number | 'max';
  /** Write bytes per second, or max. */
  wbps: number | 'max';
  /** Read operations per second, or max. */
  riops: number | 'max';
  /** Write operations per second, or max. */
  wiops: number | 'max';
}

/** The four throttles of a device, in io.max order. */
export const IO_KEYS = ['rbps', 'wbps', 'riops', 'wiops'] as const;

/** A device path of a spec as resolved on this host: its number, or why it cannot be throttled. */
export type BlockDeviceLookup = { dev: string } | { error: string };

function devOrder(a: string, b: string): number {
  const [am, an] = a.split(':').map(Number);
  const [bm, bn] = b.split(':').map(Number);
  return am! - bm! || an! - bn!;
}

/** Sorted by device number, devices without any throttle dropped: the form the drivers read back. */
export function canonicalIo(list: readonly IoDeviceLimits[]): IoDeviceLimits[] {
  return list.filter((d) => IO_KEYS.some((k) => d[k] !== 'max')).sort((a, b) => devOrder(a.dev, b.dev));
}

/** An entry that throttles nothing (what removing a device's limits writes). */
export function unthrottled(dev: string): IoDeviceLimits {
  return { dev, rbps: 'max', wbps: 'max', riops: 'max', wiops: 'max' };
}

/**
 * The throttles a spec's io entries mean on this host, by device number. Entries whose device did
 * not resolve, or resolved to a device an earlier entry names, are left out: hostChecks reports
 * them, and nothing is written for such a spec.
 */
export function desiredIo(
  io: readonly IoLimit[] | undefined,
  devices: Readonly<Record<string, BlockDeviceLookup>> | undefined,
): IoDeviceLimits[] {
  const out: IoDeviceLimits[] = [];
  for (const e of io ?? []) {
    const found = devices?.[e.device];
    if (!found || !('dev' in found) || out.some((d) => d.dev === found.dev)) continue;
    out.push({
      dev: found.dev,
      rbps: e.readBps ?? 'max',
      wbps: e.writeBps ?? 'max',
      riops: e.readIops ?? 'max',
      wiops: e.writeIops ?? 'max',
    });
  }
  return canonicalIo(out);
}

/** Whether two canonical io lists hold the same throttles. */
export function sameIo(a: readonly IoDeviceLimits[], b: readonly IoDeviceLimits[]): boolean {
  return a.length === b.length && a.every((d, i) => d.dev === b[i]!.dev && IO_KEYS.every((k) => d[k] === b[i]![k]));
}

/** The devices whose throttles differ between want and have, each with the entry want holds for it. */
export function ioChanges(want: readonly IoDeviceLimits[], have: readonly IoDeviceLimits[]): IoDeviceLimits[] {
  const wanted = new Map(want.map((d) => [d.dev, d]));
  const had = new Map(have.map((d) => [d.dev, d]));
  const changes: IoDeviceLimits[] = [];
  for (const dev of [...new Set([...wanted.keys(), ...had.keys()])].sort(devOrder)) {
    const w = wanted.get(dev) ?? unthrottled(dev);
    const h = had.get(dev) ?? unthrottled(dev);
    if (IO_KEYS.some((k) => w[k] !== h[k])) changes.push(w);
  }
  return changes;
}

/** Human form for messages: `7:0 wbps=4Mi riops=100; 8:16 rbps=1Mi`, or `none`. */
export function formatIo(list: readonly IoDeviceLimits[]): string {
  if (!list.length) return 'none';
  const value = (k: (typeof IO_KEYS)[number], v: number): string => (k.endsWith('bps') ? formatBytes(v) : String(v));
  return list
    .map((d) => [d.dev, ...IO_KEYS.filter((k) => d[k] !== 'max').map((k) => `${k}=${value(k, d[k] as number)}`)].join(' '))
    .join('; ');
}

/** A spec io entry that cannot be applied on this host. */
export interface IoDeviceProblem {
  /** The device path as the spec gives it. */
  device: string;
  message: string;
}

/**
 * Why a spec's io entries cannot be applied here: a device that did not resolve (missing, not a
 * block device, a partition), or two paths naming one device. Pure: works on the resolved facts.
 */
export function ioDeviceProblems(
  io: readonly IoLimit[] | undefined,
  devices: Readonly<Record<string, BlockDeviceLookup>> | undefined,
): IoDeviceProblem[] {
  const problems: IoDeviceProblem[] = [];
  const seen = new Map<string, string>();
  (io ?? []).forEach((e, i) => {
    const found = devices?.[e.device];
    if (!found) problems.push({ device: e.device, message: `resources.io[${i}].device ${e.device}: not looked up on this host` });
    else if ('error' in found) problems.push({ device: e.device, message: `resources.io[${i}].device ${e.device}: ${found.error}` });
    else if (seen.has(found.dev))
      problems.push({
        device: e.device,
        message: `resources.io[${i}].device ${e.device} is device ${found.dev}, as is ${seen.get(found.dev)}: give each device once`,
      });
    else seen.set(found.dev, e.device);
  });
  return problems;
}
