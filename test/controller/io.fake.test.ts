import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { reconcileOnce } from '../../reconciler/controller/once.js';
import { observe } from '../../reconciler/observe/observe.js';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { gatherFacts } from '../../reconciler/runtime/facts.js';
import { countingHost } from '../helpers/countingHost.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-io-fake-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const DEVICES = { '/dev/vdb': { major: 254, minor: 16 }, '/dev/vdc': { major: 254, minor: 32 }, '/dev/loop0': { major: 7, minor: 0 } };

const entryArb = fc.record(
  {
    readBps: fc.constantFrom('2', '1Mi', '10Mi', 4096),
    writeBps: fc.constantFrom('5Mi', '100M'),
    readIops: fc.integer({ min: 2, max: 10_000 }),
    writeIops: fc.constantFrom(2, 50, 4294967294),
  },
  { requiredKeys: [] },
);
const ioArb = fc
  .uniqueArray(fc.tuple(fc.constantFrom(...Object.keys(DEVICES)), entryArb), { selector: ([d]) => d, maxLength: 3 })
  .map((list) => list.filter(([, e]) => Object.keys(e).length > 0).map(([device, e]) => ({ device, ...e })));

function fakeWithDevices(version: 'v1' | 'v2'): FakeHost {
  const fake = new FakeHost(version);
  for (const [path, d] of Object.entries(DEVICES)) fake.devices.set(path, { kind: 'block', ...d });
  return fake;
}

describe.each(['v1', 'v2'] as const)('io throttles against a fake %s kernel', (version) => {
  it('applies any sequence of io throttles in place, keeping the process; the next pass changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(ioArb, { minLength: 2, maxLength: 5 }), async (steps) => {
        const fake = fakeWithDevices(version);
        const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
        const dir = mkdtempSync(join(root, `s${seq++}-`));
        const driver = detectDriver(fake, dirs.cgroupParent);
        let pid: number | undefined;
        for (const io of steps) {
          writeFileSync(
            join(dir, 'a.yaml'),
            stringify({
              name: 'a',
              image: { layers: ['/layers/busybox'] },
              command: ['sleep', '3600'],
              ...(io.length && { resources: { io } }),
            }),
          );
          const r = await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' });
          expect(r.ok, JSON.stringify([r.results, r.plan.problems])).toBe(true);
          const a = observe(fake, dirs, driver).containers.get('a')!;
          pid ??= a.pids!.initPid;
          expect(a.pids!.initPid).toBe(pid);
          expect(a.limits).toEqual(desiredLimits(r.load.desired[0]!.spec.resources, gatherFacts(fake, driver, r.load.desired)));
          const { host, calls } = countingHost(fake);
          const again = await reconcileOnce({ dir, dirs, host, driver, monitorBinary: '/monitor' });
          expect(again.plan.actions.map((x) => x.kind)).toEqual(['none']);
          expect(calls).toEqual([]);
        }
      }),
      { numRuns: 60 },
    );
  });

  it('a device that is gone fails that container with HOST_CHECK and the path, writes nothing, and keeps it running', async () => {
    const fake = fakeWithDevices(version);
    const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
    const dir = mkdtempSync(join(root, `g${seq++}-`));
    const driver = detectDriver(fake, dirs.cgroupParent);
    const write = (io: unknown[]) =>
      writeFileSync(
        join(dir, 'a.yaml'),
        stringify({ name: 'a', image: { layers: ['/layers/busybox'] }, command: ['sleep', '3600'], resources: { io } }),
      );
    write([{ device: '/dev/vdb', writeBps: '5Mi' }]);
    expect((await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' })).ok).toBe(true);
    const before = observe(fake, dirs, driver).containers.get('a')!;
    fake.devices.delete('/dev/vdc');
    write([
      { device: '/dev/vdb', writeBps: '1Mi' },
      { device: '/dev/vdc', readIops: 5 },
    ]);
    const { host, calls } = countingHost(fake);
    const r = await reconcileOnce({ dir, dirs, host, driver, monitorBinary: '/monitor' });
    expect(r.results).toMatchObject([
      { name: 'a', kind: 'update', ok: false, errorCode: 'HOST_CHECK', error: 'resources.io[1].device /dev/vdc: no such file (ENOENT)' },
    ]);
    expect(calls).toEqual([]);
    const after = observe(fake, dirs, driver).containers.get('a')!;
    expect(after.initAlive).toBe(true);
    expect(after.pids).toEqual(before.pids);
    expect(after.limits).toEqual(before.limits);
    expect(after.record).toEqual(before.record);
  });
});
