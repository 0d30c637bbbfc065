import { readFileSync } from 'node:fs';
import { beforeEach, expect, it } from 'vitest';
import { psEntry } from '../../reconciler/cli/ps.js';
import { rawIo, someBlockDevice } from '../helpers/blockDevices.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

const MiB = 2 ** 20;

// Throttles are configured on a device of the host without doing any I/O to it (this host cannot
// open block devices); their effect is measured in the cgroup v2 lane (io.v2.kernel.test.ts).
describeKernel('block I/O throttles on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  const device = (): { path: string; dev: string } => {
    const d = someBlockDevice();
    if (!d) throw new Error('no block device in /sys/block with a node in /dev to configure throttles on');
    return d;
  };
  const expectRaw = (name: string, want: { rbps?: number; wbps?: number; riops?: number; wiops?: number }, dev: string): void => {
    if (inst.driver.version === 'v2') {
      const any = Object.keys(want).length > 0;
      const v = (k: keyof typeof want): string => String(want[k] ?? 'max');
      expect(rawIo(inst, name)).toEqual({
        'io.max': any ? `${dev} rbps=${v('rbps')} wbps=${v('wbps')} riops=${v('riops')} wiops=${v('wiops')}` : '',
      });
    } else {
      const v = (k: keyof typeof want): string => (want[k] === undefined ? '' : `${dev} ${want[k]}`);
      expect(rawIo(inst, name)).toEqual({ read_bps: v('rbps'), write_bps: v('wbps'), read_iops: v('riops'), write_iops: v('wiops') });
    }
  };

  it('writes the throttles into the cgroup files, changes and lifts them in place (same pid), shows them in ps/inspect', async () => {
    const { path, dev } = device();
    const write = (io: unknown[] | undefined) => inst.writeSpec('disk.yaml', inst.spec('disk', io ? { resources: { io } } : {}));
    write([{ device: path, writeBps: '4Mi', readIops: 100 }]);
    let r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expectRaw('disk', { wbps: 4 * MiB, riops: 100 }, dev);
    expect(psEntry(inst.container('disk')).limits?.io).toEqual([{ dev, readBps: null, writeBps: 4 * MiB, readIops: 100, writeIops: null }]);
    const pid = inst.pid('disk');
    if (inst.driver.version !== 'v2') {
      const blkio = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
        .split('\n')
        .find((l) => l.split(':')[1]?.split(',').includes('blkio'));
      expect(blkio?.split(':')[2]).toBe(`/${inst.dirs.cgroupParent}/disk`);
    }

    write([{ device: path, readBps: '1Mi', writeBps: '8Mi', writeIops: 50 }]);
    r = await inst.reconcile();
    expect(r.results).toMatchObject([
      { name: 'disk', kind: 'update', ok: true, reason: `resources: io ${dev} wbps=4Mi riops=100 -> ${dev} rbps=1Mi wbps=8Mi wiops=50` },
    ]);
    expect(inst.pid('disk')).toBe(pid);
    expectRaw('disk', { rbps: MiB, wbps: 8 * MiB, wiops: 50 }, dev);
    expect((await inst.reconcile()).results).toEqual([]);

    write(undefined);
    r = await inst.reconcile();
    expect(r.results).toMatchObject([{ name: 'disk', kind: 'update', ok: true }]);
    expect(inst.pid('disk')).toBe(pid);
    expectRaw('disk', {}, dev);
    expect(psEntry(inst.container('disk')).limits?.io).toEqual([]);
  });

  it('a device that is missing or not a block device is an error of that container naming the path; a running one keeps running', async () => {
    const { path } = device();
    inst.writeSpec('bad.yaml', inst.spec('bad', { resources: { io: [{ device: '/dev/pocker-no-such-disk', writeBps: '1Mi' }] } }));
    inst.writeSpec('good.yaml', inst.spec('good'));
    let r = await inst.reconcile();
    expect(r.ok).toBe(false);
    expect(r.results.find((x) => x.name === 'good')?.ok).toBe(true);
    expect(r.results.find((x) => x.name === 'bad')).toMatchObject({
      kind: 'create',
      ok: false,
      errorCode: 'HOST_CHECK',
      error: 'resources.io[0].device /dev/pocker-no-such-disk: no such file (ENOENT)',
    });
    expect(inst.actual().containers.has('bad')).toBe(false);

    inst.removeSpec('bad.yaml');
    const pid = inst.pid('good');
    inst.writeSpec(
      'good.yaml',
      inst.spec('good', {
        resources: {
          io: [
            { device: path, writeBps: '1Mi' },
            { device: '/dev/null', readIops: 10 },
          ],
        },
      }),
    );
    r = await inst.reconcile();
    expect(r.results).toMatchObject([
      {
        name: 'good',
        kind: 'update',
        ok: false,
        errorCode: 'HOST_CHECK',
        error: 'resources.io[1].device /dev/null: a character device (1:3), not a block device',
      },
    ]);
    expect(inst.pid('good')).toBe(pid);
    expect(inst.container('good').limits?.io).toEqual([]);
  });
});
