import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import { psEntry } from '../../reconciler/cli/ps.js';
import { attachLoopDevice, bytesWritten, rawIo, type BlockDevice } from '../helpers/blockDevices.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

const MiB = 2 ** 20;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// cgroup v2 only (run by the v2 lane, excluded from the host's config): the io controller switched
// off under a running container, as a host upgraded from a pocker without io limits has it.
describeKernel('block I/O throttles on cgroup v2, added to an older container', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let loop: (BlockDevice & { detach: () => void }) | undefined;
  let imageDir: string;
  beforeAll(() => {
    imageDir = mkdtempSync(join(tmpdir(), 'pocker-loop-'));
    loop = attachLoopDevice(imageDir, 256);
  });
  afterAll(() => {
    loop?.detach();
    rmSync(imageDir, { recursive: true, force: true });
  });
  beforeEach(() => {
    inst = current();
  });

  /** Bytes per second the container writes to the loop device, over `ms` after a warm-up. */
  const writeRate = async (ms: number): Promise<number> => {
    for (let i = 0; i < 200 && bytesWritten(inst, 'dd', loop!.dev) === 0; i++) await sleep(50);
    await sleep(1000);
    const [b0, t0] = [bytesWritten(inst, 'dd', loop!.dev), performance.now()];
    await sleep(ms);
    return (bytesWritten(inst, 'dd', loop!.dev) - b0) / ((performance.now() - t0) / 1000);
  };

  it('adds throttles in place to a container started while the io controller was off for pocker cgroups (an upgrade)', async () => {
    const { path, dev } = loop!;
    inst.writeSpec('old.yaml', inst.spec('old'));
    expect((await inst.reconcile()).ok).toBe(true);
    const pid = inst.pid('old');
    writeFileSync(join('/sys/fs/cgroup', inst.dirs.cgroupParent, 'cgroup.subtree_control'), '-io');
    expect(existsSync(join(inst.driver.dirs('old')[0]!, 'io.max'))).toBe(false);
    inst.writeSpec('old.yaml', inst.spec('old', { resources: { io: [{ device: path, readBps: '1Mi' }] } }));
    const r = await inst.reconcile();
    expect(r.results).toMatchObject([{ name: 'old', kind: 'update', ok: true }]);
    expect(inst.pid('old')).toBe(pid);
    expect(rawIo(inst, 'old')).toEqual({ 'io.max': `${dev} rbps=${MiB} wbps=max riops=max wiops=max` });
  });
});
