import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { containerPaths } from '../../reconciler/state/layout.js';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { restoreBootId, simulateReboot } from '../helpers/reboot.js';
import { until } from '../helpers/wait.js';

/** Appends a line to /runs at every start: the writable layer's history. */
const COUNT_RUNS = ['sh', '-c', 'echo run >> /runs; exec sleep 3600'];

describeKernel('writable layers are kept until the container is removed or recreated', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  afterEach(() => restoreBootId());
  const runs = (name: string): string => {
    const f = join(containerPaths(inst.dirs, name).upper, 'runs');
    return existsSync(f) ? readFileSync(f, 'utf8') : '';
  };
  const started = (name: string, n: number) =>
    until(() => runs(name) === 'run\n'.repeat(n) && inst.runningPid(name) !== null, `${name} started ${n} time(s) on its layer`);

  it('a reboot restarts every container on its own layer; a stopped one stays stopped and keeps its layer', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { command: COUNT_RUNS }));
    inst.writeSpec('s.yaml', inst.spec('s', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    await started('a', 1);
    await started('s', 1);
    inst.writeSpec('s.yaml', inst.spec('s', { command: COUNT_RUNS, state: 'stopped' }));
    expect((await inst.reconcile()).results.map((r) => r.kind)).toEqual(['stop']);
    await simulateReboot(inst);
    const after = await inst.reconcile();
    expect(after.ok, JSON.stringify(after.results)).toBe(true);
    expect(after.results.map((r) => [r.name, r.kind])).toEqual([['a', 'restart']]);
    await started('a', 2);
    expect(inst.runningPid('s')).toBeNull();
    expect(runs('s')).toBe('run\n');
    inst.writeSpec('s.yaml', inst.spec('s', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).results.map((r) => [r.name, r.kind])).toEqual([['s', 'restart']]);
    await started('s', 2);
  });

  it('a restart: never container that exited before a reboot stays exited; one that was running when the host went down runs again', async () => {
    inst.writeSpec('done.yaml', inst.spec('done', { restart: 'never', command: ['sh', '-c', 'echo run >> /runs'] }));
    inst.writeSpec('svc.yaml', inst.spec('svc', { restart: 'never', command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    await until(() => (inst.find('done')?.exit ?? null) !== null, 'done exited');
    await started('svc', 1);
    await simulateReboot(inst);
    const after = await inst.reconcile();
    expect(after.results.map((r) => [r.name, r.kind])).toEqual([['svc', 'restart']]);
    await started('svc', 2);
    expect(runs('done')).toBe('run\n');
    expect(inst.container('done').exit).toMatchObject({ exitCode: 0 });
  });

  it('pocker restart starts the container again on the same layer', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    await started('a', 1);
    const pid = inst.pid('a');
    const r = pocker(inst, 'restart', ['a']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^restart a: ok/);
    await started('a', 2);
    expect(inst.pid('a')).not.toBe(pid);
  });

  it('a record pocker cannot read keeps the layer: the container restarts on it', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    await started('a', 1);
    const record = join(containerPaths(inst.dirs, 'a').dataDir, 'container.json');
    const legacy = join(containerPaths(inst.dirs, 'a').stateDir, 'record.json');
    writeFileSync(existsSync(record) ? record : legacy, '{"version": 99, "written by": "a later pocker"}');
    const r = await inst.reconcile();
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'restart', true]]);
    await started('a', 2);
  });

  it('a recreate says in the plan that it discards the writable layer', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    inst.writeSpec('a.yaml', inst.spec('a', { command: ['sh', '-c', 'exec sleep 3601'] }));
    const plan = pocker(inst, 'plan');
    expect(plan.status).toBe(2);
    expect(plan.stdout).toMatch(/recreate\s+a\s+.*changed: command; discards the writable layer/);
  });

  it('an ad-hoc container survives a reboot stopped, and pocker start runs it again on its layer', async () => {
    const run = pocker(inst, 'run', ['-d', '--name', 'adhoc', inst.layer, ...COUNT_RUNS]);
    expect(run.status, run.stdout + run.stderr).toBe(0);
    await started('adhoc', 1);
    await simulateReboot(inst);
    expect((await inst.reconcile({ allowEmpty: true })).results).toEqual([]);
    expect(runs('adhoc')).toBe('run\n');
    const start = pocker(inst, 'start', ['adhoc']);
    expect(start.status, start.stdout + start.stderr).toBe(0);
    await started('adhoc', 2);
    expect(pocker(inst, 'rm', ['-f', 'adhoc']).status).toBe(0);
  });

  it('adopts a running container of the previous release (record in the state dir) in place: same pid, same layer, record moved', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { command: COUNT_RUNS }));
    expect((await inst.reconcile()).ok).toBe(true);
    await started('a', 1);
    const pid = inst.pid('a');
    const paths = containerPaths(inst.dirs, 'a');
    const { instance, bootId, lastExit, ...rest } = JSON.parse(readFileSync(paths.record, 'utf8')) as Record<string, unknown> & {
      instance: { cgroupParent: string };
    };
    void bootId;
    void lastExit;
    writeFileSync(paths.legacyRecord, JSON.stringify({ ...rest, version: 1, cgroupParent: instance.cgroupParent }));
    rmSync(paths.record);
    rmSync(join(inst.dirs.dataDir, 'instance.json'));
    const pids = JSON.parse(readFileSync(paths.pids, 'utf8')) as Record<string, unknown>;
    delete pids.bootId;
    writeFileSync(paths.pids, JSON.stringify(pids));
    const r = await inst.reconcile();
    expect(r.results.map((x) => [x.name, x.kind, x.reason, x.ok])).toEqual([
      ['a', 'update', 'moving its record to the data dir (written by an earlier release)', true],
    ]);
    expect(inst.pid('a')).toBe(pid);
    expect(existsSync(paths.legacyRecord)).toBe(false);
    expect(JSON.parse(readFileSync(paths.record, 'utf8'))).toMatchObject({ version: 2, name: 'a', instance: inst.dirs });
    expect(runs('a')).toBe('run\n');
    expect((await inst.reconcile()).results).toEqual([]);
  });
});
