import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { pocker } from '../helpers/cli.js';
import { instanceCgroups, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';

describeKernel('moving an instance to another cgroup parent, on purpose', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  it('refuses while containers run, stops them with --stop keeping their layers, and the next pass under the new parent starts them there', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { restart: 'never', command: ['sh', '-c', 'echo run >> /runs; exec sleep 3600'] }));
    expect((await inst.reconcile()).ok).toBe(true);
    const runs = join(containerPaths(inst.dirs, 'a').upper, 'runs');
    await until(() => existsSync(runs), 'a ran');
    const to = `${inst.dirs.cgroupParent}-moved`;
    const refused = pocker(inst, 'instance', ['move', '--to-cgroup-parent', to]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/RUNNING: containers a are running/);
    expect(inst.runningPid('a')).not.toBeNull();

    const moved = pocker(inst, 'instance', ['move', '--to-cgroup-parent', to, '--stop']);
    expect(moved.status, moved.stdout + moved.stderr).toBe(0);
    expect(moved.stdout).toMatch(/moved 1 container\(s\) \(a\)/);
    expect(instanceCgroups(inst.dirs.cgroupParent).filter((d) => !d.endsWith('_monitors') && !d.endsWith(inst.dirs.cgroupParent))).toEqual(
      [],
    );
    expect(pocker(inst, 'ps').stderr).toMatch(/INSTANCE_MISMATCH/);

    const newDirs = { ...inst.dirs, cgroupParent: to };
    const driver = detectDriver(inst.host, to);
    try {
      const r = await inst.reconcile({ dirs: newDirs, driver });
      expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'restart', true]]);
      await until(() => readFileSync(runs, 'utf8') === 'run\nrun\n', 'a ran again on its layer');
      expect(readFileSync(`/proc/${r.results[0]!.pid}/cgroup`, 'utf8')).toContain(`/${to}/a`);
    } finally {
      const back = pocker(inst, 'instance', ['move', '--cgroup-parent', to, '--to-cgroup-parent', inst.dirs.cgroupParent, '--stop']);
      expect(back.status, back.stdout + back.stderr).toBe(0);
    }
    expect(instanceCgroups(to)).toEqual([]);
  });
});
