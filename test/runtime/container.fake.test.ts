import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../reconciler/controller/once.js';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import type { MonitorStart } from '../../reconciler/host/host.js';
import { collected } from '../helpers/gc.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-container-fake-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('a start waiting for its monitor', () => {
  it('keeps no reference to the monitor config it handed over (a burst of starts would hold one each)', async () => {
    const fake = new FakeHost('v1');
    const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
    const dir = mkdtempSync(join(root, 'specs-'));
    writeFileSync(join(dir, 'a.yaml'), stringify({ name: 'a', image: { layers: ['/layers/busybox'] }, command: ['sleep', '3600'] }));
    const start = fake.startMonitor.bind(fake);
    let ref: WeakRef<Buffer> | undefined;
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let handedOver!: () => void;
    const waiting = new Promise<void>((r) => (handedOver = r));
    // Not async: this wrapper keeps only the WeakRef; the fake parses its own copy at once.
    fake.startMonitor = (binary: string, config: Buffer): Promise<MonitorStart> => {
      ref = new WeakRef(config);
      const started = start(binary, Buffer.from(config));
      handedOver();
      return released.then(() => started);
    };
    const pass = reconcileOnce({ dir, dirs, host: fake, driver: detectDriver(fake, dirs.cgroupParent), monitorBinary: '/monitor' });
    await waiting;
    expect(await collected(ref!)).toBe(true);
    release();
    const r = await pass;
    expect(r.ok).toBe(true);
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'create', true]]);
  });
});
