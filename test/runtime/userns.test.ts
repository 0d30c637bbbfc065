import { describe, expect, it } from 'vitest';
import { RuntimeError } from '../../reconciler/host/errors.js';
import { readPool, releaseRange, reserveRange } from '../../reconciler/runtime/userns.js';
import { containerPaths, usernsDir } from '../../reconciler/state/layout.js';
import { FakeHost } from '../helpers/fakeHost.js';

const dirs = { stateDir: '/run/p', dataDir: '/var/lib/p', cgroupParent: 'p' };
const BASE = 2 ** 31;
const SLOT = 65536;

function host(subuid = 'pocker:2147483648:2147483648\n', subgid = subuid): FakeHost {
  const h = new FakeHost('v2');
  h.writeFileAtomic('/etc/subuid', subuid);
  h.writeFileAtomic('/etc/subgid', subgid);
  h.mkdir(dirs.dataDir);
  return h;
}

/** Writes the record a start would have written for name with range r. */
function record(h: FakeHost, name: string, r: object): void {
  h.mkdir(containerPaths(dirs, name).dataDir);
  h.writeFileAtomic(containerPaths(dirs, name).record, JSON.stringify({ name, userns: r }));
}

describe('reserving the ranges of userns: auto', () => {
  it('hands out disjoint ranges from the bottom of the pool, one file per slot naming its container', async () => {
    const h = host();
    const a = await reserveRange(h, dirs, 'a', SLOT);
    const b = await reserveRange(h, dirs, 'b', SLOT);
    const big = await reserveRange(h, dirs, 'big', 3 * SLOT - 1);
    expect([a, b, big]).toEqual([
      { uid: BASE, gid: BASE, size: SLOT },
      { uid: BASE + SLOT, gid: BASE + SLOT, size: SLOT },
      { uid: BASE + 2 * SLOT, gid: BASE + 2 * SLOT, size: 3 * SLOT - 1 },
    ]);
    expect(h.readDir(usernsDir(dirs))?.sort()).toEqual([0, 1, 2, 3, 4].map((i) => String(BASE + i * SLOT)).sort());
    expect(h.readFile(`${usernsDir(dirs)}/${BASE + 3 * SLOT}`)).toBe('big\n');
  });

  it('gives a released range to the next container, and keeps a recreated container on its own', async () => {
    const h = host();
    const a = await reserveRange(h, dirs, 'a', SLOT);
    await reserveRange(h, dirs, 'b', SLOT);
    expect(await reserveRange(h, dirs, 'a', SLOT, undefined, a)).toEqual(a);
    releaseRange(h, dirs, 'a', a);
    expect(await reserveRange(h, dirs, 'c', SLOT)).toEqual(a);
    releaseRange(h, dirs, 'a', a);
    expect(h.readFile(`${usernsDir(dirs)}/${BASE}`)).toBe('c\n');
  });

  it('reads the slot dir once, not per reservation, and sees slots another process gave back when the pool looks full', async () => {
    const h = host('pocker:100000:196608\n');
    let reads = 0;
    const readDir = h.readDir.bind(h);
    h.readDir = (path: string) => {
      if (path === usernsDir(dirs)) reads++;
      return readDir(path);
    };
    const a = await reserveRange(h, dirs, 'a', SLOT);
    record(h, 'a', a);
    const b = await reserveRange(h, dirs, 'b', SLOT);
    record(h, 'b', b);
    const c = await reserveRange(h, dirs, 'c', SLOT);
    record(h, 'c', c);
    expect(reads).toBe(1);
    // Another process removes b: its slot file and record go behind this process's back.
    h.removeFile(`${usernsDir(dirs)}/${b.uid}`);
    h.removeFile(containerPaths(dirs, 'b').record);
    expect(await reserveRange(h, dirs, 'd', SLOT)).toEqual(b);
  });

  it('gives starts running together each their own range, each slot file written once', async () => {
    const h = host();
    let creates = 0;
    const createExclusive = h.createExclusive.bind(h);
    h.createExclusive = (path: string, data: string) => {
      creates++;
      return createExclusive(path, data);
    };
    const ranges = await Promise.all(Array.from({ length: 20 }, (_, i) => reserveRange(h, dirs, `c${i}`, SLOT)));
    expect(ranges.map((r) => (r.uid - BASE) / SLOT)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(creates).toBe(20);
    for (let i = 0; i < 20; i++) expect(h.readFile(`${usernsDir(dirs)}/${BASE + i * SLOT}`)).toBe(`c${i}\n`);
  });

  it('gives back the slots of a reservation whose file cannot be written', async () => {
    const h = host();
    await reserveRange(h, dirs, 'a', SLOT);
    const createExclusive = h.createExclusive.bind(h);
    h.createExclusive = () => Promise.reject(Object.assign(new Error('EIO: i/o error, open'), { code: 'EIO' }));
    await expect(reserveRange(h, dirs, 'b', SLOT)).rejects.toMatchObject({ code: 'EIO' });
    h.createExclusive = createExclusive;
    expect((await reserveRange(h, dirs, 'c', SLOT)).uid).toBe(BASE + SLOT);
  });

  it('never hands out a slot another process has taken meanwhile', async () => {
    const h = host();
    h.mkdir(usernsDir(dirs));
    await h.createExclusive(`${usernsDir(dirs)}/${BASE}`, 'other\n');
    record(h, 'other', { uid: BASE, gid: BASE, size: SLOT });
    expect((await reserveRange(h, dirs, 'a', SLOT)).uid).toBe(BASE + SLOT);
  });

  it('says when the pool is missing or full, and reclaims slots whose container no longer holds them', async () => {
    const missing = new FakeHost('v2');
    missing.removeFile('/etc/subgid');
    expect(() => readPool(missing)).toThrow(/\/etc\/subgid has no "pocker" entry/);
    const h = host('pocker:100000:131072\n');
    await reserveRange(h, dirs, 'a', SLOT);
    record(h, 'a', { uid: 100000, gid: 100000, size: SLOT });
    await reserveRange(h, dirs, 'b', SLOT);
    record(h, 'b', { uid: 100000 + SLOT, gid: 100000 + SLOT, size: SLOT });
    let err: unknown;
    try {
      await reserveRange(h, dirs, 'c', SLOT);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('USERNS');
    expect((err as Error).message).toMatch(/no 1 free range of 65536 ids left \(2 in all\)/);
    // b's record is gone (a removal cut short before its slot file): its slot is taken back.
    h.removeFile(containerPaths(dirs, 'b').record);
    expect((await reserveRange(h, dirs, 'c', SLOT)).uid).toBe(100000 + SLOT);
    expect(readPool(h, 'pocker').slots).toBe(2);
  });
});
