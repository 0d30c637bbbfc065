import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { reconcileOnce } from '../../reconciler/controller/once.js';
import { observe, observeContainer } from '../../reconciler/observe/observe.js';
import { observationStamp } from '../../reconciler/observe/stamp.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-fake-observe-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

describe('observe', () => {
  it('stamps observations for the watching controller only, and reuses only what its callback gives back', async () => {
    const fake = new FakeHost('v2');
    const driver = detectDriver(fake, dirs.cgroupParent);
    const dir = mkdtempSync(join(root, 'specs-'));
    for (const name of ['a', 'b'])
      writeFileSync(join(dir, `${name}.yaml`), `name: ${name}\nimage: {layers: [/layers/busybox]}\ncommand: [sleep, "1000"]\n`);
    await reconcileOnce({ dir, dirs, host: fake, driver, allowEmpty: true, monitorBinary: '/monitor' });

    const spy = vi.spyOn(fake, 'changeStamp');
    const stampsTaken = (): number => spy.mock.calls.length;
    let before = stampsTaken();
    const oneShot = observe(fake, dirs, driver);
    expect([...oneShot.containers.keys()]).toEqual(['a', 'b']);
    expect([...oneShot.containers.values()].map((c) => c.stamp)).toEqual([undefined, undefined]);
    expect(observeContainer(fake, dirs, driver, 'a')?.stamp).toBeUndefined();
    expect(stampsTaken()).toBe(before);

    before = stampsTaken();
    const watched = observe(fake, dirs, driver, {});
    expect([...watched.containers.values()].every((c) => c.stamp !== undefined)).toBe(true);
    expect(stampsTaken() - before).toBe(4);

    const kept = watched.containers.get('a')!;
    const asked: string[] = [];
    const again = observe(fake, dirs, driver, { reuse: (name) => (asked.push(name), name === 'a' ? kept : undefined) });
    expect(asked).toEqual(['a', 'b']);
    expect(again.containers.get('a')).toBe(kept);
    expect(again.containers.get('b')).not.toBe(watched.containers.get('b'));
    expect(again.containers.get('b')?.stamp).toEqual(observationStamp(fake, dirs, 'b', Date.now()));
  });
});
