import { describe, expect, it } from 'vitest';
import { desiredLimits, limitDiff, type LimitFacts } from '../../reconciler/limits/limits.js';

const V1: LimitFacts = { pageSize: 4096, cpuPeriodUs: 100_000, defaultCpuset: '0-1', memswSupported: true, cpuWeightUnit: 'shares' };
const V2: LimitFacts = { ...V1, defaultCpuset: '', cpuWeightUnit: 'weight' };

describe('desiredLimits (the canonical form the kernel holds)', () => {
  it('has no limits for empty resources', () => {
    expect(desiredLimits({}, V1)).toEqual({
      cpuQuotaUs: 'max',
      cpuPeriodUs: 100_000,
      cpusetCpus: '0-1',
      memory: 'max',
      memsw: 'max',
      pids: 'max',
      cpuWeight: 1024,
      frozen: false,
      io: [],
    });
    expect(desiredLimits({}, V2).cpusetCpus).toBe('');
    expect(desiredLimits({}, V2).cpuWeight).toBe(100);
  });
  it('weighs CPU in v1 shares or, converted as runc does, in v2 weight', () => {
    expect(desiredLimits({ cpuShares: 512 }, V1).cpuWeight).toBe(512);
    expect(desiredLimits({ cpuShares: 2 }, V2).cpuWeight).toBe(1);
    expect(desiredLimits({ cpuShares: 1024 }, V2).cpuWeight).toBe(39);
    expect(desiredLimits({ cpuShares: 262144 }, V2).cpuWeight).toBe(10000);
  });
  it('turns cpus into a CFS quota for the period', () => {
    expect(desiredLimits({ cpus: 0.5 }, V1).cpuQuotaUs).toBe(50_000);
    expect(desiredLimits({ cpus: 2 }, V1).cpuQuotaUs).toBe(200_000);
    expect(desiredLimits({ cpus: 0.001 }, V1).cpuQuotaUs).toBe(1000);
  });
  it('rounds memory down to pages like the kernel', () => {
    expect(desiredLimits({ memory: 100_000_001 }, V1).memory).toBe(99_999_744);
    expect(desiredLimits({ memory: 64 * 2 ** 20 }, V1).memory).toBe(64 * 2 ** 20);
  });
  it('sets memsw = memory when unset (no swap), max when unlimited', () => {
    expect(desiredLimits({ memory: 2 ** 26 }, V1).memsw).toBe(2 ** 26);
    expect(desiredLimits({ memory: 2 ** 26, memsw: 'unlimited' }, V1).memsw).toBe('max');
    expect(desiredLimits({ memory: 2 ** 26, memsw: 3 * 2 ** 25 }, V1).memsw).toBe(3 * 2 ** 25);
  });
  it('keeps memsw = memory where swap accounting is off', () => {
    expect(desiredLimits({ memory: 2 ** 26, memsw: 'unlimited' }, { ...V1, memswSupported: false }).memsw).toBe(2 ** 26);
  });
  it('diffs field by field', () => {
    const a = desiredLimits({ memory: 2 ** 26 }, V1);
    const b = desiredLimits({ memory: 2 ** 27, pids: 10 }, V1);
    expect(limitDiff(b, a)).toEqual(['memory', 'memsw', 'pids']);
    expect(limitDiff(a, a)).toEqual([]);
  });
});
