import { describe, expect, it } from 'vitest';
import type { ActualContainer, ActualSet } from '../../reconciler/observe/types.js';
import { DEFAULT_BACKOFF } from '../../reconciler/plan/backoff.js';
import { canonicalIo, desiredIo, formatIo, ioChanges, ioDeviceProblems, unthrottled } from '../../reconciler/limits/io.js';
import { desiredLimits, formatLimit, limitDiff, type LimitFacts } from '../../reconciler/limits/limits.js';
import { plan, type PlanInput } from '../../reconciler/plan/plan.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { desired, running, specObj } from '../helpers/specs.js';

const FACTS: LimitFacts = {
  pageSize: 4096,
  cpuPeriodUs: 100_000,
  defaultCpuset: '0-1',
  memswSupported: true,
  cpuWeightUnit: 'weight',
  blockDevices: {
    '/dev/vdb': { dev: '254:16' },
    '/dev/loop0': { dev: '7:0' },
    '/dev/disk/by-id/x': { dev: '254:16' },
    '/dev/gone': { error: 'no such file (ENOENT)' },
  },
};
const MiB = 2 ** 20;

function input(ds: DesiredContainer[], actual: ActualContainer[], facts = FACTS): PlanInput {
  const set: ActualSet = { containers: new Map(actual.map((a) => [a.name, a])), leftovers: [], strangers: [] };
  return {
    source: '/specs',
    load: { status: 'ok', files: ds.map((d) => d.source.file), desired: ds, failedFiles: new Set() },
    actual: set,
    facts,
    allowEmpty: false,
    now: 1e7,
    backoff: DEFAULT_BACKOFF,
  };
}
const withIo = (io: unknown[]): DesiredContainer => desired(specObj('a', { resources: { io } }));
const live = (d: DesiredContainer): ActualContainer => running(d, desiredLimits(d.spec.resources, FACTS));

describe('io throttles in canonical form', () => {
  it('maps device paths to numbers, unset throttles to max, sorted by device number', () => {
    const io = [
      { device: '/dev/vdb', readBps: 10 * MiB, writeIops: 50 },
      { device: '/dev/loop0', writeBps: 4 * MiB },
    ];
    expect(desiredLimits({ io }, FACTS).io).toEqual([
      { dev: '7:0', rbps: 'max', wbps: 4 * MiB, riops: 'max', wiops: 'max' },
      { dev: '254:16', rbps: 10 * MiB, wbps: 'max', riops: 'max', wiops: 50 },
    ]);
    expect(desiredLimits({}, FACTS).io).toEqual([]);
  });

  it('leaves out devices that did not resolve, and names them as problems', () => {
    const io = [
      { device: '/dev/gone', readBps: 100 },
      { device: '/dev/unknown', readBps: 100 },
      { device: '/dev/vdb', readBps: 100 },
      { device: '/dev/disk/by-id/x', readIops: 9 },
    ];
    expect(desiredIo(io, FACTS.blockDevices)).toEqual([{ ...unthrottled('254:16'), rbps: 100 }]);
    expect(ioDeviceProblems(io, FACTS.blockDevices)).toEqual([
      { device: '/dev/gone', message: 'resources.io[0].device /dev/gone: no such file (ENOENT)' },
      { device: '/dev/unknown', message: 'resources.io[1].device /dev/unknown: not looked up on this host' },
      {
        device: '/dev/disk/by-id/x',
        message: 'resources.io[3].device /dev/disk/by-id/x is device 254:16, as is /dev/vdb: give each device once',
      },
    ]);
  });

  it('compares as a set of devices: same throttles, no diff; any change, an io diff', () => {
    const a = desiredLimits({ io: [{ device: '/dev/vdb', readBps: MiB }] }, FACTS);
    const b = desiredLimits({ io: [{ device: '/dev/vdb', readBps: 2 * MiB }] }, FACTS);
    expect(limitDiff(a, { ...a, io: a.io.map((d) => ({ ...d })) })).toEqual([]);
    expect(limitDiff(b, a)).toEqual(['io']);
    expect(limitDiff(desiredLimits({}, FACTS), a)).toEqual(['io']);
    expect(formatLimit('io', b)).toBe('254:16 rbps=2Mi');
    expect(formatIo([])).toBe('none');
    expect(canonicalIo([unthrottled('8:0')])).toEqual([]);
    expect(ioChanges([], a.io)).toEqual([unthrottled('254:16')]);
  });
});

describe('planning io throttles', () => {
  it('updates in place, naming the old and new throttles', () => {
    const was = withIo([{ device: '/dev/vdb', writeBps: '4Mi' }]);
    const now = withIo([
      { device: '/dev/vdb', writeBps: '8Mi', readIops: 100 },
      { device: '/dev/loop0', readBps: '1Mi' },
    ]);
    const p = plan(input([now], [live(was)]));
    expect(p.actions).toMatchObject([
      { kind: 'update', changed: ['io'], reason: 'resources: io 254:16 wbps=4Mi -> 7:0 rbps=1Mi; 254:16 wbps=8Mi riops=100' },
    ]);
  });

  it('lifts the throttles of a removed entry, in place', () => {
    const was = withIo([{ device: '/dev/vdb', writeBps: '4Mi' }]);
    const now = desired(specObj('a'));
    expect(plan(input([now], [live(was)])).actions).toMatchObject([
      { kind: 'update', changed: ['io'], reason: 'resources: io 254:16 wbps=4Mi -> none' },
    ]);
  });

  it('is up to date when the kernel holds the throttles (a reordered list changes nothing)', () => {
    const d = withIo([
      { device: '/dev/vdb', writeBps: '4Mi' },
      { device: '/dev/loop0', readIops: 7 },
    ]);
    const reordered = withIo([
      { device: '/dev/loop0', readIops: 7 },
      { device: '/dev/vdb', writeBps: '4Mi' },
    ]);
    expect(plan(input([reordered], [live(d)])).actions).toMatchObject([{ kind: 'none', reason: 'up to date' }]);
  });

  it('converges throttles changed behind its back', () => {
    const d = withIo([{ device: '/dev/vdb', writeBps: '4Mi' }]);
    const limits = desiredLimits(d.spec.resources, FACTS);
    const tampered = running(d, { ...limits, io: [{ ...limits.io[0]!, wbps: 'max', rbps: 5 }] });
    expect(plan(input([d], [tampered])).actions).toMatchObject([{ kind: 'update', changed: ['io'] }]);
  });

  it('plans an update that its host check will refuse when a throttled device does not resolve: never silently "up to date"', () => {
    const d = withIo([{ device: '/dev/gone', writeBps: '4Mi' }]);
    expect(plan(input([d], [live(d)])).actions).toMatchObject([
      { kind: 'update', changed: [], reason: 'resources.io[0].device /dev/gone: no such file (ENOENT)' },
    ]);
  });

  it('creates a new container with throttles like any other', () => {
    expect(plan(input([withIo([{ device: '/dev/vdb', readIops: 10 }])], [])).actions).toMatchObject([{ kind: 'create' }]);
  });
});
