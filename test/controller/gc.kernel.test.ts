import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { containerPaths } from '../../reconciler/state/layout.js';
import { pocker } from '../helpers/cli.js';
import { instanceCgroups, instanceProcesses, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';

const KEEP = ['sh', '-c', 'echo precious > /kept; exec sleep 3600'];

describeKernel("garbage collection never destroys what may be alive or another instance's", () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let others: string[];
  beforeEach(async () => {
    inst = current();
    others = [];
    inst.writeSpec('web.yaml', inst.spec('web', { command: KEEP }));
    expect((await inst.reconcile()).ok).toBe(true);
    await until(() => existsSync(kept()), 'web wrote /kept');
  });
  afterEach(() => {
    for (const d of others) rmSync(d, { recursive: true, force: true });
  });
  const kept = (): string => join(containerPaths(inst.dirs, 'web').upper, 'kept');
  const emptyDir = (): string => {
    const d = join(inst.root, `empty-${others.length}`);
    mkdirSync(d);
    others.push(d);
    return d;
  };

  it('refuses a pass whose state dir disagrees with the data dir it points at, and kills nothing', () => {
    const pid = inst.pid('web');
    const otherState = join(inst.root, 'other-state');
    others.push(otherState);
    const r = pocker(inst, 'reconcile', ['--once', '--dir', emptyDir(), '--state-dir', otherState, '--allow-empty']);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/INSTANCE_MISMATCH: .*--state-dir/);
    expect(inst.pid('web')).toBe(pid);
    expect(readFileSync(kept(), 'utf8')).toBe('precious\n');
  });

  it("refuses a pass whose cgroup parent disagrees with the data dir (a manual pass beside the systemd unit's controller)", () => {
    const pid = inst.pid('web');
    const r = pocker(inst, 'reconcile', ['--once', '--cgroup-parent', `${inst.dirs.cgroupParent}-other`]);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stderr).toMatch(/INSTANCE_MISMATCH: .*--cgroup-parent/);
    expect(inst.pid('web')).toBe(pid);
    expect(instanceCgroups(`${inst.dirs.cgroupParent}-other`)).toEqual([]);
  });

  it('another instance sharing the cgroup parent reports the processes it does not know and leaves them alone', () => {
    const pid = inst.pid('web');
    const otherState = join(inst.root, 'other-state');
    const otherData = join(inst.root, 'other-data');
    others.push(otherState, otherData);
    const r = pocker(inst, 'reconcile', [
      '--once',
      '--dir',
      emptyDir(),
      '--state-dir',
      otherState,
      '--data-dir',
      otherData,
      '--allow-empty',
      '--log-level',
      'warn',
    ]);
    expect(r.stderr).toMatch(/web.*(left alone|not this instance)/);
    expect(inst.pid('web')).toBe(pid);
    expect(readFileSync(kept(), 'utf8')).toBe('precious\n');
    expect(inst.driver.list(inst.host)).toEqual(['web']);
  });

  it('a state dir wiped while containers run: the next pass adopts them (same pid, same layer) and manages them again', async () => {
    const pid = inst.pid('web');
    rmSync(inst.dirs.stateDir, { recursive: true, force: true });
    const r = pocker(inst, 'reconcile', ['--once']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(inst.pid('web')).toBe(pid);
    expect(readFileSync(kept(), 'utf8')).toBe('precious\n');
    inst.writeSpec('web.yaml', inst.spec('web', { command: KEEP, resources: { pids: 33 } }));
    const up = await inst.reconcile();
    expect(up.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['web', 'update', true]]);
    expect(inst.pid('web')).toBe(pid);
    expect(inst.cgroupFile('web', 'pids', 'pids.max')).toBe('33');
    expect(instanceProcesses(inst.dirs).length).toBeGreaterThanOrEqual(2);
  });
});
