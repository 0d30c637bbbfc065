import { spawn, spawnSync } from 'node:child_process';
import { beforeEach, expect, it } from 'vitest';
import { instanceFlags, POCKER_BIN } from '../helpers/cli.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import type { NoneAction } from '../../reconciler/plan/types.js';
import { rawLimits } from '../helpers/cgroupValues.js';
import { countingHost } from '../helpers/countingHost.js';
import { instanceProcesses, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('reconcile --once on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  /** [memory, memory+swap] as the cgroup files hold them (v2 stores swap separately). */
  const memoryFiles = (name: string): number[] => {
    const raw = rawLimits(inst, name);
    return inst.driver.version === 'v2'
      ? [Number(raw.memory), Number(raw.memory) + Number(raw.swapOrMemsw)]
      : [Number(raw.memory), Number(raw.swapOrMemsw)];
  };

  it('updates resources in place (raising and lowering memory+memsw together) with the same pid', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '64Mi', memsw: '96Mi' } }));
    const first = await inst.reconcile();
    expect(first.ok, JSON.stringify(first.results)).toBe(true);
    const pid = inst.pid('web');

    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '128Mi', memsw: '192Mi' } }));
    const up = await inst.reconcile();
    expect(up.plan.actions.map((a) => a.kind)).toEqual(['update']);
    expect(up.ok, JSON.stringify(up.results)).toBe(true);
    expect(inst.pid('web')).toBe(pid);
    expect(memoryFiles('web')).toEqual([128 * 2 ** 20, 192 * 2 ** 20]);

    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '32Mi', memsw: '48Mi' } }));
    const down = await inst.reconcile();
    expect(down.ok, JSON.stringify(down.results)).toBe(true);
    expect(inst.pid('web')).toBe(pid);
    expect(memoryFiles('web')).toEqual([32 * 2 ** 20, 48 * 2 ** 20]);
  });

  it('recreates on a command change (new pid) and removes a deleted spec with everything it owned', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    expect((await inst.reconcile()).ok).toBe(true);
    const pid = inst.pid('web');
    inst.writeSpec('web.yaml', inst.spec('web', { command: ['sh', '-c', 'echo v2; exec sleep 3600'] }));
    const r = await inst.reconcile();
    expect(r.plan.actions.map((a) => [a.kind, a.reason])).toEqual([['recreate', 'changed: command; discards the writable layer']]);
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(inst.pid('web')).not.toBe(pid);
    await inst.waitForLog('web', /v2/);

    inst.removeSpec('web.yaml');
    inst.writeSpec('other.yaml', inst.spec('other'));
    const gone = await inst.reconcile();
    expect(gone.plan.actions.map((a) => [a.name, a.kind])).toEqual([
      ['other', 'create'],
      ['web', 'remove'],
    ]);
    expect(gone.ok).toBe(true);
    expect(inst.actual().containers.has('web')).toBe(false);
    expect(inst.actual().leftovers).toEqual([]);
  });

  it('makes zero mutating host calls on a second pass with nothing changed', async () => {
    inst.writeSpec('a.yaml', inst.spec('a', { resources: { cpus: 0.5, memory: '100000001', pids: 20 } }));
    inst.writeSpec('b.yaml', inst.spec('b', { resources: { cpuset: '0', memory: '64Mi', memsw: 'unlimited' } }));
    expect((await inst.reconcile()).ok).toBe(true);
    const { host, calls } = countingHost(inst.host);
    const again = await inst.reconcile({ host });
    expect(again.plan.actions.map((a) => a.kind)).toEqual(['none', 'none']);
    expect(calls).toEqual([]);
  });

  it('keeps the last good containers of a broken file untouched and reports file:line:col', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    expect((await inst.reconcile()).ok).toBe(true);
    const pid = inst.pid('web');

    const path = inst.writeSpec('web.yaml', 'name: web\nimage: {layers: [/x]\ncommand: [sleep]\n');
    const { host, calls } = countingHost(inst.host);
    const broken = await inst.reconcile({ host });
    expect(broken.ok).toBe(false);
    expect(broken.load.errors.map(formatSpecError)[0]).toMatch(new RegExp(`^${path}:\\d+:\\d+: `));
    expect(broken.plan.actions.map((a) => a.kind)).toEqual(['none']);
    expect(calls).toEqual([]);
    expect(inst.pid('web')).toBe(pid);

    inst.writeSpec('web.yaml', `${JSON.stringify(inst.spec('web')).slice(0, -1)}, "resources": {"memory": "lots"}}`);
    const bad = await inst.reconcile();
    expect(bad.ok).toBe(false);
    expect(bad.load.errors.map(formatSpecError)).toEqual([
      expect.stringMatching(new RegExp(`^${path}:1:\\d+: resources\\.memory must be a quantity`)),
    ]);
    expect(inst.pid('web')).toBe(pid);

    const cli = spawnSync(process.execPath, [POCKER_BIN, 'reconcile', '--once', ...instanceFlags(inst), '--log-level', 'silent'], {
      encoding: 'utf8',
    });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toContain(`error: ${path}:1:`);
    expect(inst.pid('web')).toBe(pid);
  });

  it('fails a new spec whose layer is missing at apply time without stopping the running version', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    expect((await inst.reconcile()).ok).toBe(true);
    const pid = inst.pid('web');
    inst.writeSpec('web.yaml', inst.spec('web', { image: { layers: [inst.layer, '/nonexistent/layer'] } }));
    const r = await inst.reconcile();
    expect(r.ok).toBe(false);
    expect(r.results).toEqual([
      expect.objectContaining({
        name: 'web',
        kind: 'recreate',
        ok: false,
        errorCode: 'HOST_CHECK',
        error: 'layer /nonexistent/layer does not exist',
      }),
    ]);
    expect(inst.pid('web')).toBe(pid);
  });

  it("reports a command that cannot be exec'd and leaves nothing half-created", async () => {
    inst.writeSpec('bad.yaml', inst.spec('bad', { command: ['/bin/sh/nope'] }));
    const r = await inst.reconcile();
    expect(r.ok).toBe(false);
    expect(r.results[0]).toMatchObject({ kind: 'create', ok: false });
    expect(inst.actual().containers.size).toBe(0);
    expect(inst.leftovers()).toEqual([]);
    inst.writeSpec('bad.yaml', inst.spec('bad', { command: ['sh', '-c', 'exec /no/such/program'] }));
    expect((await inst.reconcile()).ok).toBe(true);
  });

  it('restarts per policy with growing backoff: on-failure restarts a failing workload, never keeps the exit code', async () => {
    inst.writeSpec(
      'flaky.yaml',
      inst.spec('flaky', { command: ['sh', '-c', 'echo run; exit 1'], restart: 'on-failure', restartBackoff: { initial: '300ms' } }),
    );
    inst.writeSpec('once.yaml', inst.spec('once', { command: ['sh', '-c', 'exit 3'], restart: 'never' }));
    inst.writeSpec('done.yaml', inst.spec('done', { command: ['true'], restart: 'on-failure' }));
    expect((await inst.reconcile()).ok).toBe(true);
    await waitFor(() => ['flaky', 'once', 'done'].every((n) => inst.container(n).exit !== null));
    expect(inst.container('once').exit).toMatchObject({ exitCode: 3, signal: 0, oomKilled: false });

    const early = await inst.reconcile();
    const firstExit = inst.container('flaky').exit!;
    expect(early.plan.actions.map((a) => [a.name, a.kind])).toEqual([
      ['done', 'none'],
      ['flaky', 'none'],
      ['once', 'none'],
    ]);
    const wait1 = early.plan.actions[1] as NoneAction;
    expect(wait1.reason).toMatch(/^exited with code 1; backoff \(retry in \d+ms\)$/);
    expect(wait1.retryAt! - firstExit.finishedAtMs).toBe(300);

    await new Promise((r) => setTimeout(r, Math.max(0, wait1.retryAt! - Date.now()) + 20));
    const r = await inst.reconcile();
    expect(r.plan.actions.map((a) => [a.name, a.kind])).toEqual([
      ['done', 'none'],
      ['flaky', 'restart'],
      ['once', 'none'],
    ]);
    expect(r.ok).toBe(true);
    await waitFor(() => {
      const exit = inst.container('flaky').exit;
      return inst.log('flaky').split('run').length - 1 === 2 && exit !== null && exit.finishedAtMs !== firstExit.finishedAtMs;
    });
    expect(inst.container('flaky').record).toMatchObject({ restartCount: 1, backoffStep: 1 });
    const second = (await inst.reconcile({ dryRun: true })).plan.actions[1] as NoneAction;
    expect(second.retryAt! - inst.container('flaky').exit!.finishedAtMs).toBe(600);
  });

  it('serializes concurrent passes on one state dir: exactly one container, both passes succeed', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    const args = [POCKER_BIN, 'reconcile', '--once', ...instanceFlags(inst), '--log-level', 'silent'];
    const run = () =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const p = spawn(process.execPath, args);
        let out = '';
        p.stdout.on('data', (d: Buffer) => (out += d));
        p.on('close', (code) => resolve({ code, out }));
      });
    const [a, b] = await Promise.all([run(), run()]);
    expect([a.code, b.code]).toEqual([0, 0]);
    expect([a.out, b.out].filter((o) => /create\s+web\s+ok/.test(o))).toHaveLength(1);
    expect([a.out, b.out].filter((o) => /none\s+web/.test(o))).toHaveLength(1);
    expect(instanceProcesses(inst.dirs).length).toBeGreaterThanOrEqual(3);
    expect(inst.actual().containers.size).toBe(1);
  });

  it('leaves containers running after the pocker process that started them exits', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    const cli = spawnSync(process.execPath, [POCKER_BIN, 'reconcile', '--once', ...instanceFlags(inst), '--log-level', 'silent'], {
      encoding: 'utf8',
    });
    expect(cli.status, cli.stdout + cli.stderr).toBe(0);
    expect(cli.stdout).toMatch(/create\s+web\s+ok pid \d+/);
    const pid = inst.pid('web');
    expect(inst.container('web').monitorAlive).toBe(true);
    const ps = spawnSync(process.execPath, [POCKER_BIN, 'ps', '-o', 'json', ...instanceFlags(inst)], { encoding: 'utf8' });
    expect(JSON.parse(ps.stdout)).toEqual([expect.objectContaining({ name: 'web', state: 'running', pid })]);
  });
});

async function waitFor(cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 20));
  }
}
