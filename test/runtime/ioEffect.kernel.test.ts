import { beforeEach, expect, it } from 'vitest';
import { psEntry } from '../../reconciler/cli/ps.js';
import { bytesWritten, rawIo, useLoopDevice } from '../helpers/blockDevices.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeKernel('block I/O throttles, with their effect measured', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  const loopDevice = useLoopDevice(256);
  beforeEach(() => {
    inst = current();
  });

  /** Bytes per second the container writes to the loop device, over `ms` after a warm-up. */
  const writeRate = async (ms: number): Promise<number> => {
    for (let i = 0; i < 200 && bytesWritten(inst, 'dd', loopDevice().dev) === 0; i++) await sleep(50);
    await sleep(1000);
    const [b0, t0] = [bytesWritten(inst, 'dd', loopDevice().dev), performance.now()];
    await sleep(ms);
    return (bytesWritten(inst, 'dd', loopDevice().dev) - b0) / ((performance.now() - t0) / 1000);
  };

  it('direct-I/O writes to a loop device run within ±20% of writeBps; a change applies in place (same pid); removing it lifts the throttle', async () => {
    const { path, dev } = loopDevice();
    const write = (io: unknown[] | undefined) =>
      inst.writeSpec(
        'dd.yaml',
        inst.spec('dd', {
          command: ['sh', '-c', 'while :; do dd if=/dev/zero of=/blk bs=1M count=64 oflag=direct 2>/dev/null; done'],
          privileged: true,
          mounts: [{ source: path, target: '/blk' }],
          stopGracePeriod: '1s',
          ...(io && { resources: { io } }),
        }),
      );
    write([{ device: path, writeBps: '4Mi' }]);
    let r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(rawIo(inst, 'dd')).toEqual(
      inst.driver.version === 'v2'
        ? { 'io.max': `${dev} rbps=max wbps=${4 * MiB} riops=max wiops=max` }
        : { read_bps: '', write_bps: `${dev} ${4 * MiB}`, read_iops: '', write_iops: '' },
    );
    expect(psEntry(inst.container('dd')).limits?.io).toEqual([{ dev, readBps: null, writeBps: 4 * MiB, readIops: null, writeIops: null }]);
    const pid = inst.pid('dd');
    const at4 = await writeRate(3000);
    console.log(`writeBps 4Mi: ${(at4 / MiB).toFixed(2)} MiB/s (${((at4 / (4 * MiB) - 1) * 100).toFixed(1)}%)`);
    expect(at4).toBeGreaterThanOrEqual(0.8 * 4 * MiB);
    expect(at4).toBeLessThanOrEqual(1.2 * 4 * MiB);

    write([{ device: path, writeBps: '8Mi', readIops: 100 }]);
    r = await inst.reconcile();
    expect(r.results).toMatchObject([{ name: 'dd', kind: 'update', ok: true }]);
    expect(inst.pid('dd')).toBe(pid);
    expect(rawIo(inst, 'dd')).toEqual(
      inst.driver.version === 'v2'
        ? { 'io.max': `${dev} rbps=max wbps=${8 * MiB} riops=100 wiops=max` }
        : { read_bps: '', write_bps: `${dev} ${8 * MiB}`, read_iops: `${dev} 100`, write_iops: '' },
    );
    const at8 = await writeRate(3000);
    console.log(`writeBps 8Mi: ${(at8 / MiB).toFixed(2)} MiB/s (${((at8 / (8 * MiB) - 1) * 100).toFixed(1)}%)`);
    expect(at8).toBeGreaterThanOrEqual(0.8 * 8 * MiB);
    expect(at8).toBeLessThanOrEqual(1.2 * 8 * MiB);

    write(undefined);
    r = await inst.reconcile();
    expect(r.results).toMatchObject([{ name: 'dd', kind: 'update', ok: true }]);
    expect(inst.pid('dd')).toBe(pid);
    expect(Object.values(rawIo(inst, 'dd')).every((v) => v === '')).toBe(true);
    const free = await writeRate(1000);
    console.log(`no throttle: ${(free / MiB).toFixed(2)} MiB/s`);
    expect(free).toBeGreaterThan(3 * 8 * MiB);
  });
});
