import { describe, expect, it } from 'vitest';
import { mayReuse, ResyncCadence } from '../../reconciler/controller/resyncCadence.js';
import type { ObservationStamp } from '../../reconciler/observe/stamp.js';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import type { PidsRecord } from '../../reconciler/state/records.js';

const stamp = (dirs: string, settled = true): ObservationStamp => ({ dirs, settled });
const pids: PidsRecord = { bootId: 'b', monitorPid: 10, monitorStart: 1, initPid: 11, initStart: 2, startedAtMs: 0 };
const running = (extra: Partial<ActualContainer> = {}): ActualContainer => ({
  name: 'web',
  record: null,
  pids,
  exit: null,
  initAlive: true,
  monitorAlive: true,
  limits: null,
  stamp: stamp('d1|s1'),
  ...extra,
});
const watched = (pid: number): boolean => pid === 10;

describe('mayReuse', () => {
  it('keeps a running container read in a settled state while its dirs stand and its monitor is watched', () => {
    expect(mayReuse(running(), stamp('d1|s1'), false, watched)).toBe(true);
  });

  it('reads again when a record was renamed in or out, the earlier read was not settled, or a notification marked it', () => {
    expect(mayReuse(running(), stamp('d2|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ stamp: stamp('d1|s1', false) }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ stamp: undefined }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running(), stamp('d1|s1'), true, watched)).toBe(false);
    expect(mayReuse(undefined, stamp('d1|s1'), false, watched)).toBe(false);
  });

  it('reads again a running container whose monitor no exit watch follows', () => {
    expect(mayReuse(running(), stamp('d1|s1'), false, () => false)).toBe(false);
  });

  it('keeps a container with nothing running (its exit is in its records), but never an odd one', () => {
    const stopped = running({ pids: null, initAlive: false, monitorAlive: false });
    expect(mayReuse(stopped, stamp('d1|s1'), false, () => false)).toBe(true);
    expect(mayReuse(running({ monitorAlive: false }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ recordProblem: 'corrupt' }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ pidsRecovered: true }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ unidentified: [12] }), stamp('d1|s1'), false, watched)).toBe(false);
    expect(mayReuse(running({ legacy: true }), stamp('d1|s1'), false, watched)).toBe(false);
  });
});

describe('ResyncCadence', () => {
  it('reads everything the first time and then every n-th time', () => {
    const c = new ResyncCadence(3);
    expect(Array.from({ length: 7 }, () => c.begin())).toEqual([true, false, false, true, false, false, true]);
    const always = new ResyncCadence(1);
    expect([always.begin(), always.begin()]).toEqual([true, true]);
  });

  it('refuses a period that is not a whole number of at least 1', () => {
    expect(() => new ResyncCadence(0)).toThrow(/whole number >= 1/);
    expect(() => new ResyncCadence(1.5)).toThrow(/whole number >= 1/);
  });

  it('reuses the last observations, reads a marked container once, and counts what it kept', () => {
    const c = new ResyncCadence(10);
    c.begin();
    const last = new Map([
      ['web', running()],
      ['db', running({ name: 'db' })],
    ]);
    c.mark('db');
    expect(c.begin()).toBe(false);
    const first = c.reuser(last, (_name, pid) => watched(pid));
    expect(first.reuse('web', stamp('d1|s1'))).toBe(last.get('web'));
    expect(first.reuse('db', stamp('d1|s1'))).toBeUndefined();
    expect(first.reused()).toBe(1);
    c.begin();
    const second = c.reuser(last, (_name, pid) => watched(pid));
    expect(second.reuse('db', stamp('d1|s1'))).toBe(last.get('db'));
  });

  it('spends every mark on a full resync', () => {
    const c = new ResyncCadence(2);
    c.begin();
    c.mark('web');
    expect(c.begin()).toBe(false);
    c.mark('web');
    expect(c.begin()).toBe(true);
    expect(c.begin()).toBe(false);
    expect(c.reuser(new Map([['web', running()]]), (_n, pid) => watched(pid)).reuse('web', stamp('d1|s1'))).toBeDefined();
  });
});
