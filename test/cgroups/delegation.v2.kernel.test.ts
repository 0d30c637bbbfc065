import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

// cgroup v2 only (run by the v2 lane, excluded from the hybrid host's config).
describeKernel('a delegated cgroup v2 subtree (systemd Delegate=yes)', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  it('moves the controller into a leaf of the delegated cgroup, then enables controllers and runs containers below it', async () => {
    const delegated = `${inst.dirs.cgroupParent}-unit`;
    const unitDir = join('/sys/fs/cgroup', delegated);
    mkdirSync(unitDir);
    const parent = `${delegated}/containers`;
    inst.writeSpec('web.yaml', inst.spec('web'));
    // The unit is an instance of its own (another cgroup parent): its own state and data dirs.
    const common = [
      '--dir',
      inst.specDir,
      '--state-dir',
      join(inst.root, 'unit-state'),
      '--data-dir',
      join(inst.root, 'unit-data'),
      '--cgroup-parent',
      parent,
      '--log-level',
      'silent',
    ];
    // Start the controller inside the "unit" cgroup, as systemd does; later starts go to the leaf,
    // as systemd does with DelegateSubgroup=_controller (the unit's root has controllers enabled).
    const inUnit = (verb: string, cgroup: string) =>
      spawnSync(
        'sh',
        [
          '-c',
          `echo $$ > ${cgroup}/cgroup.procs && exec "$@"`,
          'sh',
          process.execPath,
          join(packageRoot(), 'bin', 'pocker'),
          verb,
          ...(verb === 'reconcile' ? ['--once'] : []),
          ...common,
        ],
        { encoding: 'utf8' },
      );
    try {
      const up = inUnit('reconcile', unitDir);
      expect(up.status, up.stdout + up.stderr).toBe(0);
      expect(existsSync(join(unitDir, '_controller'))).toBe(true);
      expect(readFileSync(join(unitDir, 'cgroup.subtree_control'), 'utf8')).toMatch(/cpu.*memory.*pids|memory/);
      const pid = Number(/ok pid (\d+)/.exec(up.stdout)?.[1]);
      expect(readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim()).toBe(`0::/${parent}/web`);
      const again = inUnit('reconcile', join(unitDir, '_controller'));
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/none\s+web\s+-\s+up to date/);
      const down = inUnit('down', join(unitDir, '_controller'));
      expect(down.status, down.stdout + down.stderr).toBe(0);
    } finally {
      for (const d of [join(unitDir, 'containers', '_monitors'), join(unitDir, 'containers'), join(unitDir, '_controller'), unitDir]) {
        for (let i = 0; i < 100 && existsSync(d); i++) {
          try {
            rmdirSync(d);
          } catch {
            await new Promise((r) => setTimeout(r, 20));
          }
        }
      }
    }
    expect(existsSync(unitDir)).toBe(false);
  });
});
