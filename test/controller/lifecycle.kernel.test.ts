import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { instanceFlags, POCKER_BIN } from '../helpers/cli.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { instanceProcesses, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { sleep, until } from '../helpers/wait.js';

describeKernel('controller lifecycle, logs and exec on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  const daemons: ChildProcess[] = [];
  beforeEach(() => {
    inst = current();
  });
  afterEach(() => {
    for (const d of daemons.splice(0)) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
  });

  const bin = POCKER_BIN;
  const common = (): string[] => [...instanceFlags(inst)];
  const pocker = (verb: string, ...args: string[]) => spawnSync(process.execPath, [bin, verb, ...common(), ...args], { encoding: 'utf8' });
  const daemon = (...extra: string[]): ChildProcess => {
    const d = spawn(process.execPath, [bin, 'reconcile', ...common(), '--log-level', 'info', '--removal-delay', '200ms', ...extra], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    daemons.push(d);
    return d;
  };
  const running = (name: string): boolean => {
    try {
      return inst.container(name).initAlive;
    } catch {
      return false;
    }
  };

  it('survives a SIGKILLed controller: the next one adopts the containers (same pids) and converges a spec edited meanwhile; SIGTERM ends it cleanly', async () => {
    inst.writeSpec('a.yaml', inst.spec('a'));
    inst.writeSpec('b.yaml', inst.spec('b', { resources: { pids: 20 } }));
    const first = daemon();
    await until(
      () => running('a') && running('b') && ['a', 'b'].every((n) => inst.container(n).record?.phase === 'created'),
      'a and b running and recorded',
    );
    const pa = inst.pid('a');
    const pb = inst.pid('b');
    first.kill('SIGKILL');
    await new Promise((r) => first.once('exit', r));
    await sleep(100);
    expect([inst.pid('a'), inst.pid('b')]).toEqual([pa, pb]);

    inst.writeSpec('b.yaml', inst.spec('b', { resources: { pids: 30 } }));
    inst.writeSpec('c.yaml', inst.spec('c'));
    const second = daemon();
    let log = '';
    second.stderr!.on('data', (d: Buffer) => (log += d));
    await until(() => running('c') && inst.cgroupFile('b', 'pids', 'pids.max') === '30', 'c running and b updated');
    expect([inst.pid('a'), inst.pid('b')]).toEqual([pa, pb]);
    const t0 = Date.now();
    second.kill('SIGTERM');
    const code = await new Promise((r) => second.once('exit', (c) => r(c)));
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect([inst.pid('a'), inst.pid('b')]).toEqual([pa, pb]);
    const actions = log
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { container?: string; action?: string });
    expect(actions.filter((x) => x.container === 'a' && x.action)).toEqual([]);
    expect(actions.filter((x) => x.container === 'b').map((x) => x.action)).toEqual(['update']);
    expect(actions.filter((x) => x.container === 'c').map((x) => x.action)).toEqual(['create']);
  });

  it('after a simulated reboot (processes gone, state dir emptied) starts every spec again and leaves no orphaned layer', async () => {
    for (const n of ['a', 'b', 'c']) inst.writeSpec(`${n}.yaml`, inst.spec(n));
    expect(pocker('reconcile', '--once').status).toBe(0);
    for (const pid of instanceProcesses(inst.dirs)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* exited meanwhile */
      }
    }
    await until(() => instanceProcesses(inst.dirs).length === 0, 'everything killed');
    rmSync(inst.dirs.stateDir, { recursive: true, force: true });
    inst.removeSpec('c.yaml');
    const r = pocker('reconcile', '--once');
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(running('a') && running('b')).toBe(true);
    expect(readdirSync(join(inst.dirs.dataDir, 'containers')).sort()).toEqual(['a', 'b']);
    expect(inst.driver.list(inst.host).sort()).toEqual(['a', 'b']);
  });

  it('rotates logs at the configured size, and logs -f follows across rotations', async () => {
    inst.writeSpec(
      'talk.yaml',
      inst.spec('talk', {
        command: [
          'sh',
          '-c',
          'echo ready; while [ ! -e /tmp/go ]; do sleep 0.02; done; i=0; while [ $i -lt 400 ]; do i=$((i+1)); echo "line $i ........................................"; sleep 0.002; done; exec sleep 3600',
        ],
      }),
    );
    expect(pocker('reconcile', '--once', '--log-max-size', '4Ki', '--log-max-files', '2').status).toBe(0);
    const follow = spawn(process.execPath, [bin, 'logs', '-f', 'talk', ...common()], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemons.push(follow);
    let out = '';
    follow.stdout!.on('data', (d: Buffer) => (out += d));
    await until(() => out.includes('ready'), 'the follower is attached', 20_000);
    expect(pocker('exec', 'talk', '--', 'touch', '/tmp/go').status).toBe(0);
    await until(() => out.includes('line 400 '), 'the follower saw the last line', 20_000);
    follow.kill('SIGINT');
    const lines = out.trim().split('\n');
    expect(lines).toEqual(['ready', ...Array.from({ length: 400 }, (_, i) => `line ${i + 1} ........................................`)]);
    const log = containerPaths(inst.dirs, 'talk').log;
    const files = readdirSync(join(log, '..'))
      .filter((f) => f.startsWith('container.log'))
      .sort();
    expect(files).toEqual(['container.log', 'container.log.1', 'container.log.2']);
    for (const f of files) expect(statSync(join(log, '..', f)).size).toBeLessThan(4096 + 200);
    const tail = pocker('logs', 'talk', '--tail', '3');
    expect(
      tail.stdout
        .trim()
        .split('\n')
        .map((l) => l.split(' ')[1]),
    ).toEqual(['398', '399', '400']);
  });

  it("exec returns the exit code, sees the hostname and PID namespace, has the workload's capabilities, and gets a terminal with -t", async () => {
    inst.writeSpec('box.yaml', inst.spec('box', { hostname: 'inner' }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    const r = pocker(
      'exec',
      'box',
      '--',
      'sh',
      '-c',
      'hostname; cat /proc/1/comm; echo $$; grep -E "^Cap(Eff|Bnd|Prm)" /proc/self/status; exit 7',
    );
    expect(r.status).toBe(7);
    const [host, comm, pid, ...caps] = r.stdout.trim().split('\n');
    expect([host, comm]).toEqual(['inner', 'pocker-init']);
    expect(Number(pid)).toBeLessThan(20);
    const workload = Number(
      readFileSync(`/proc/${inst.pid('box')}/task/${inst.pid('box')}/children`, 'utf8')
        .trim()
        .split(' ')[0],
    );
    const want = readFileSync(`/proc/${workload}/status`, 'utf8')
      .split('\n')
      .filter((l) => /^Cap(Eff|Bnd|Prm)/.test(l));
    expect(caps).toEqual(want);
    expect(pocker('exec', 'box', '--', 'nosuchcommand').status).toBe(127);
    const tty = spawnSync(
      'script',
      ['-qec', [process.execPath, bin, 'exec', '-it', 'box', ...common(), '--', 'sh', '-c', 'tty; exit 3'].join(' '), '/dev/null'],
      { encoding: 'utf8' },
    );
    expect(tty.status).toBe(3);
    expect(tty.stdout).toMatch(/\/dev\/pts\/\d+/);
    expect(pocker('exec', 'nobox', '--', 'true').status).toBe(1);
  });

  it('plan exits 0 with nothing to do, 2 with changes pending, 1 on errors', async () => {
    inst.writeSpec('a.yaml', inst.spec('a'));
    expect(pocker('plan').status).toBe(2);
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(pocker('plan').status).toBe(0);
    inst.writeSpec('a.yaml', 'name: [');
    expect(pocker('plan').status).toBe(1);
    expect(running('a')).toBe(true);
  });

  it('refuses to remove more containers than --max-deletions in one pass, loudly', async () => {
    for (const n of ['a', 'b', 'c']) inst.writeSpec(`${n}.yaml`, inst.spec(n));
    inst.writeSpec('keep.yaml', inst.spec('keep'));
    expect(pocker('reconcile', '--once').status).toBe(0);
    for (const n of ['a', 'b', 'c']) inst.removeSpec(`${n}.yaml`);
    const r = pocker('reconcile', '--once', '--max-deletions', '2', '--log-level', 'error');
    expect(r.status).toBe(1);
    expect(r.stdout + r.stderr).toMatch(/3 containers would be removed at once, more than --max-deletions 2: removing none/);
    expect(['a', 'b', 'c'].every(running)).toBe(true);
    expect(pocker('reconcile', '--once', '--max-deletions', '3').status).toBe(0);
    expect(['a', 'b', 'c'].some(running)).toBe(false);
  });

  it('records the git revision each container was applied from, and pocker status shows applied and failed revisions', async () => {
    const git = (...args: string[]) =>
      spawnSync('git', ['-C', inst.specDir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
    if (git('init', '-q').status !== 0) throw new Error('git is needed for this test');
    inst.writeSpec('a.yaml', inst.spec('a'));
    git('add', '.');
    git('commit', '-qm', 'one');
    const rev1 = git('rev-parse', 'HEAD').stdout.trim();
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(inst.container('a').record!.revision).toBe(rev1);
    inst.writeSpec('b.yaml', 'name: [');
    git('add', '.');
    git('commit', '-qm', 'two');
    const rev2 = git('rev-parse', 'HEAD').stdout.trim();
    expect(pocker('reconcile', '--once').status).toBe(1);
    const status = JSON.parse(pocker('status', '-o', 'json').stdout);
    expect(status).toEqual([
      expect.objectContaining({
        dir: inst.specDir,
        lastAttempt: expect.objectContaining({ revision: rev2, ok: false }),
        lastApplied: expect.objectContaining({ revision: rev1 }),
        failedFiles: [expect.objectContaining({ file: 'b.yaml', revision: rev2 })],
      }),
    ]);
    expect(existsSync(join(inst.specDir, '.git'))).toBe(true);
  });
  it('state stopped stops a container but keeps its writable layer; no restart policy revives it; running starts it again on the same layer', async () => {
    const spec = (state: string) =>
      inst.spec('st', { restart: 'always', state, command: ['sh', '-c', 'echo run >>/runs; exec sleep 3600'] });
    inst.writeSpec('st.yaml', spec('running'));
    expect((await inst.reconcile()).ok).toBe(true);
    const first = inst.pid('st');
    const runs = join(containerPaths(inst.dirs, 'st').upper, 'runs');
    await until(() => existsSync(runs), 'first run wrote /runs');
    inst.writeSpec('st.yaml', spec('stopped'));
    const stop = await inst.reconcile();
    expect(stop.results.map((r) => [r.name, r.kind, r.ok])).toEqual([['st', 'stop', true]]);
    expect(inst.runningPid('st')).toBeNull();
    expect(pocker('ps').stdout).toMatch(/st\s+stopped/);
    const again = await inst.reconcile();
    expect(again.results).toEqual([]);
    expect(pocker('restart', 'st').stdout).toBe('st: stopped (state: stopped)\n');
    expect(inst.runningPid('st')).toBeNull();
    expect(readFileSync(runs, 'utf8')).toBe('run\n');
    inst.writeSpec('st.yaml', spec('running'));
    const start = await inst.reconcile();
    expect(start.results.map((r) => [r.name, r.kind, r.ok])).toEqual([['st', 'restart', true]]);
    const second = inst.pid('st');
    expect(second).not.toBe(first);
    await until(() => readFileSync(runs, 'utf8') === 'run\nrun\n', 'second run appended to the same /runs');
    inst.writeSpec('st.yaml', spec('paused'));
    expect((await inst.reconcile()).ok).toBe(true);
    inst.writeSpec('st.yaml', spec('stopped'));
    expect((await inst.reconcile()).results.map((r) => r.kind)).toEqual(['stop']);
    expect(inst.runningPid('st')).toBeNull();
    inst.removeSpec('st.yaml');
    expect((await inst.reconcile({ allowEmpty: true })).results.map((r) => r.kind)).toEqual(['remove']);
  });
  it("tty: true gives the workload a pty of the container's devpts; its output is logged", async () => {
    inst.writeSpec('t.yaml', inst.spec('t', { tty: true, command: ['sh', '-c', 'tty; [ -t 0 ] && echo stdin-is-a-tty; exec sleep 3600'] }));
    expect((await inst.reconcile()).ok).toBe(true);
    const log = await inst.waitForLog('t', /stdin-is-a-tty/);
    expect(log).toMatch(/^\/dev\/pts\/0\n/);
  });
});
