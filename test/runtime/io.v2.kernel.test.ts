import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { rawIo, useLoopDevice } from '../helpers/blockDevices.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

const MiB = 2 ** 20;

// cgroup v2 only (run by the v2 lane, excluded from the host's config): the io controller switched
// off under a running container, as a host upgraded from a pocker without io limits has it.
describeKernel('block I/O throttles on cgroup v2, added to an older container', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  const loopDevice = useLoopDevice(256);
  beforeEach(() => {
    inst = current();
  });

  it('adds throttles in place to a container started while the io controller was off for pocker cgroups (an upgrade)', async () => {
    const { path, dev } = loopDevice();
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
