import { describe, expect, it } from 'vitest';
import { statsRow, type UsageSample } from '../../reconciler/controller/stats.js';
import { usageOf } from '../helpers/snapshots.js';

describe('stats rows', () => {
  const sample = (atMs: number, cpuNs: number, extra: Partial<UsageSample> = {}): UsageSample => ({
    name: 'web',
    atMs,
    usage: usageOf({ cpuNs, memoryBytes: 32 * 2 ** 20, inactiveFileBytes: 2 ** 20, ioReadBytes: 10, ioWriteBytes: 20 }),
    cpuLimit: 0.5,
    memoryLimit: 64 * 2 ** 20,
    net: { rx: 5, tx: 7 },
    ...extra,
  });

  it('CPU in % of one CPU and of the quota from the difference of two samples; memory as of the second', () => {
    const r = statsRow(sample(1000, 0), sample(2000, 500_000_000));
    expect(r).toMatchObject({
      name: 'web',
      cpuPercent: 50,
      cpuPercentOfQuota: 100,
      memoryBytes: 32 * 2 ** 20,
      memoryLimit: 64 * 2 ** 20,
      memoryPercent: 50,
      workingSetBytes: 31 * 2 ** 20,
      pids: 3,
      blockReadBytes: 10,
      blockWriteBytes: 20,
      netRxBytes: 5,
      netTxBytes: 7,
    });
  });

  it('no quota, no limit and no network show as null; a counter that went back reads 0 %', () => {
    const after = sample(2000, 0, { cpuLimit: null, memoryLimit: null, net: null });
    const r = statsRow(sample(1000, 10), after);
    expect([r.cpuPercent, r.cpuPercentOfQuota, r.memoryLimit, r.memoryPercent, r.netRxBytes]).toEqual([0, null, null, null, null]);
  });
});
