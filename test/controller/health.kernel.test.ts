import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';

describeKernel('health checks on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let ctl: WatchController | null = null;
  beforeEach(() => {
    inst = current();
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = null;
  });

  /** Every process in the container's cgroup (its init, workload and anything started in it). */
  const processes = (name: string): number[] => {
    const dir = inst.driver.dirs(name).find((d) => d.includes('/memory/') || inst.driver.version === 'v2')!;
    return readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim().split('\n').filter(Boolean).map(Number);
  };

  it('kills the whole of a timed-out check, whatever it started inside the container', async () => {
    inst.writeSpec(
      'web.yaml',
      inst.spec('web', {
        healthcheck: {
          exec: ['sh', '-c', 'sleep 600 & sleep 600 & wait'],
          interval: '300ms',
          timeout: '100ms',
          retries: 100,
          onUnhealthy: 'none',
        },
      }),
    );
    ctl = new WatchController({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver, resyncMs: 60_000 });
    await ctl.start();
    await until(() => inst.find('web')?.health?.failingStreak === 3, 'three checks timed out', 15_000);
    await ctl.stop();
    ctl = null;
    expect(processes('web')).toHaveLength(2);
    expect(inst.container('web').health).toMatchObject({ status: 'starting', lastExitCode: -1 });
    expect(inst.container('web').health?.lastOutput).toMatch(/timed out after 100 ms/);
  });
});
