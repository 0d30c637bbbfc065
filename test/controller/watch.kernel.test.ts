import { spawnSync } from 'node:child_process';
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController, type ResyncStats, type WatchOptions } from '../../reconciler/controller/watch.js';
import { observedStatus } from '../../reconciler/observe/types.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { rawLimits } from '../helpers/cgroupValues.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { sleep, until } from '../helpers/wait.js';
import { instanceFlags, POCKER_BIN, startDaemon } from '../helpers/cli.js';

describeKernel('pocker reconcile (watching) on the real kernel', () => {
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

  const start = async (dir = inst.specDir, extra: Partial<WatchOptions> = {}): Promise<WatchController> => {
    ctl = new WatchController({
      dir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      removalDelayMs: 300,
      resyncMs: 60_000,
      allowEmpty: true,
      ...extra,
    });
    await ctl.start();
    return ctl;
  };
  const running = (name: string): boolean => {
    try {
      return inst.container(name).initAlive;
    } catch {
      return false;
    }
  };
  const gone = (name: string): boolean => !inst.actual().containers.has(name);

  it('starts a dropped spec, updates memory in place, recreates on a command change, removes a deleted file after the quiet period', async () => {
    const c = await start();
    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '64Mi' } }));
    await until(() => running('web'), 'web running');
    const pid = inst.pid('web');

    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '96Mi' } }));
    await until(() => rawLimits(inst, 'web').memory === String(96 * 2 ** 20), 'memory updated');
    expect(inst.pid('web')).toBe(pid);
    await c.idle();
    expect(c.counts).toMatchObject({ create: 1, update: 1, recreate: 0 });

    inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '96Mi' }, command: ['sh', '-c', 'echo v2; exec sleep 3600'] }));
    await until(() => inst.runsAnotherPid('web', pid), 'web recreated');
    await c.idle();
    expect(c.counts.recreate).toBe(1);

    const t0 = Date.now();
    inst.removeSpec('web.yaml');
    await sleep(150);
    expect(running('web')).toBe(true);
    await until(() => gone('web'), 'web removed');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    await c.idle();
    expect(c.counts).toMatchObject({ create: 1, update: 1, recreate: 1, remove: 1 });
  });

  it('converges exactly once on an atomic rename, a swap of the dir symlink (git-sync) and a ..data swap (ConfigMap)', async () => {
    // atomic save: write a temp file, rename it into place
    let c = await start();
    const tmp = join(inst.specDir, '.web.yaml.tmp');
    writeFileSync(tmp, stringify(inst.spec('web')));
    renameSync(tmp, join(inst.specDir, 'web.yaml'));
    await until(() => running('web'), 'web running');
    await sleep(200);
    await c.idle();
    expect(c.counts.create).toBe(1);
    await c.stop();

    // git-sync: the spec dir is a symlink swapped to a new checkout holding the same spec plus one more
    const root = join(inst.root, 'sync');
    mkdirSync(join(root, 'rev1'), { recursive: true });
    writeFileSync(join(root, 'rev1', 'a.yaml'), stringify(inst.spec('a')));
    symlinkSync('rev1', join(root, 'current'));
    c = await start(join(root, 'current'));
    await until(() => running('a'), 'a running');
    mkdirSync(join(root, 'rev2'));
    writeFileSync(join(root, 'rev2', 'a.yaml'), stringify(inst.spec('a')));
    writeFileSync(join(root, 'rev2', 'b.yaml'), stringify(inst.spec('b')));
    symlinkSync('rev2', join(root, 'current.new'));
    renameSync(join(root, 'current.new'), join(root, 'current'));
    await until(() => running('b'), 'b running after the swap');
    await sleep(200);
    await c.idle();
    expect(c.counts).toMatchObject({ create: 2, recreate: 0, remove: 0 });
    await c.stop();

    // ConfigMap: files are links through ..data, which is swapped atomically
    const cm = join(inst.root, 'cm');
    mkdirSync(join(cm, '..v1'), { recursive: true });
    writeFileSync(join(cm, '..v1', 'cfg.yaml'), stringify(inst.spec('cfg')));
    symlinkSync('..v1', join(cm, '..data'));
    symlinkSync('..data/cfg.yaml', join(cm, 'cfg.yaml'));
    c = await start(cm);
    await until(() => running('cfg'), 'cfg running');
    const pid = inst.pid('cfg');
    mkdirSync(join(cm, '..v2'));
    writeFileSync(join(cm, '..v2', 'cfg.yaml'), stringify(inst.spec('cfg', { command: ['sh', '-c', 'echo v2; exec sleep 3600'] })));
    symlinkSync('..v2', join(cm, '..data_tmp'));
    renameSync(join(cm, '..data_tmp'), join(cm, '..data'));
    await until(() => inst.runsAnotherPid('cfg', pid), 'cfg recreated from ..v2');
    await sleep(200);
    await c.idle();
    expect(c.counts).toMatchObject({ create: 1, recreate: 1, remove: 0 });
    await c.stop();
    for (const d of [root, cm]) rmSync(d, { recursive: true, force: true });
    for (const s of [join(root, 'current'), cm])
      await import('../../reconciler/controller/once.js').then((m) =>
        m.downSource({ dir: s, dirs: inst.dirs, host: inst.host, driver: inst.driver }),
      );
  });

  it('keeps the same process when a spec moves from one file to another', async () => {
    const c = await start();
    inst.writeSpec('one.yaml', inst.spec('web'));
    await until(() => running('web'), 'web running');
    const pid = inst.pid('web');
    inst.writeSpec('two.yaml', inst.spec('web'));
    rmSync(join(inst.specDir, 'one.yaml'));
    await sleep(600);
    await c.idle();
    expect(inst.pid('web')).toBe(pid);
    expect(inst.container('web').record!.source.file).toBe('two.yaml');
    expect(c.counts).toMatchObject({ create: 1, remove: 0, recreate: 0 });
  });

  it('ends 50 rapid edits of one file with exactly one container on the final spec', async () => {
    const c = await start();
    for (let i = 0; i < 50; i++) {
      inst.writeSpec('web.yaml', inst.spec('web', { env: { N: String(i) }, resources: { pids: 10 + i } }));
      await sleep(2);
    }
    await sleep(300);
    await c.idle();
    await until(() => running('web'), 'web running');
    const a = inst.container('web');
    expect(a.record!.user.env).toEqual({ N: '49' });
    expect(rawLimits(inst, 'web').pids).toBe('59');
    expect(inst.actual().containers.size).toBe(1);
    expect(c.counts.create).toBe(1);
  });

  it('restarts on-failure with growing delays, keeps a never container exited with its code, reports an OOM kill', async () => {
    const c = await start();
    inst.writeSpec(
      'flaky.yaml',
      inst.spec('flaky', {
        command: ['sh', '-c', 'echo run; exit 1'],
        restart: 'on-failure',
        restartBackoff: { initial: '300ms', max: '10s' },
      }),
    );
    inst.writeSpec('once.yaml', inst.spec('once', { command: ['sh', '-c', 'exit 3'], restart: 'never' }));
    inst.writeSpec(
      'hog.yaml',
      inst.spec('hog', {
        command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=64M', 'count=1'],
        resources: { memory: '16Mi' },
        restart: 'never',
      }),
    );
    const exits = () => c.observability.events.recent().filter((e) => e.type === 'exit' && e.name === 'flaky');
    await until(() => exits().length >= 4, 'four exits of flaky', 60_000);
    expect(inst.log('flaky').trim().split('\n').length).toBeGreaterThanOrEqual(4);
    // The monitor stamps each run's start and finish with the same clock, so the time from one
    // run's finish to the next run's start is the backoff alone: 300, 600, 1200 ms at least.
    const runs = exits().map((e) => ({ finished: Date.parse(e.time), started: Date.parse(e.time) - Number(e.ranMs) }));
    const delays = runs.slice(1).map((r, i) => r.started - runs[i]!.finished);
    expect(delays[0]!).toBeGreaterThanOrEqual(300);
    expect(delays[1]!).toBeGreaterThanOrEqual(600);
    expect(delays[2]!).toBeGreaterThanOrEqual(1200);
    await until(() => (inst.find('once')?.exit ?? null) !== null && (inst.find('hog')?.exit ?? null) !== null, 'once and hog exited');
    expect(inst.container('once').exit).toMatchObject({ exitCode: 3 });
    expect(observedStatus(inst.container('once'))).toBe('exited');
    expect(inst.container('hog').exit).toMatchObject({ exitCode: 137, oomKilled: true });
  });

  it('restarts a container whose health check fails when asked to, and only reports it otherwise', async () => {
    await start();
    const hc = (onUnhealthy: string) => ({
      exec: ['sh', '-c', 'test -e /tmp/ok'],
      interval: '200ms',
      timeout: '10s',
      retries: 2,
      startPeriod: '300ms',
      onUnhealthy,
    });
    inst.writeSpec(
      'sick.yaml',
      inst.spec('sick', {
        command: ['sh', '-c', 'touch /tmp/ok; while [ ! -e /tmp/seen ]; do sleep 0.05; done; rm /tmp/ok; exec sleep 3600'],
        healthcheck: hc('restart'),
      }),
    );
    inst.writeSpec('noted.yaml', inst.spec('noted', { command: ['sleep', '3600'], healthcheck: hc('none') }));
    await until(() => running('sick') && running('noted'), 'both running');
    const pid = inst.pid('sick');
    await until(() => inst.find('sick')?.health?.status === 'healthy', 'sick healthy at first', 60_000);
    spawnSync(process.execPath, [POCKER_BIN, 'exec', ...instanceFlags(inst), 'sick', '--', 'touch', '/tmp/seen']);
    await until(
      () => running('sick') && inst.container('sick').pids?.initPid !== pid && inst.container('sick').record!.restartCount >= 1,
      'sick restarted after its checks failed',
      60_000,
    );
    await until(() => inst.find('noted')?.health?.status === 'unhealthy', 'noted unhealthy', 60_000);
    expect(inst.container('noted').record!.restartCount).toBe(0);
  });

  it('reads between full resyncs only what notifications point at, and repairs drift planted behind its back within one full period', async () => {
    const fullEvery = 4;
    const c = await start(inst.specDir, { resyncMs: 3_600_000, fullResyncEvery: fullEvery });
    for (const n of ['a', 'b', 'k']) inst.writeSpec(`${n}.yaml`, inst.spec(n, { resources: { memory: '64Mi' }, restart: 'always' }));
    await until(() => ['a', 'b', 'k'].every(running), 'a, b and k running');
    await c.idle();
    // Past the coarse clock's tick of the last record written: the next observation of each is trusted.
    await sleep(100);
    const resyncs: ResyncStats[] = [];
    const resync = (): ResyncStats => {
      const s = c.resync()!;
      resyncs.push(s);
      return s;
    };
    /** Resyncs until the next full one; returns the incremental ones on the way. */
    const untilFull = (): ResyncStats[] => {
      const on: ResyncStats[] = [];
      for (let s = resync(); !s.full; s = resync()) on.push(s);
      return on;
    };
    untilFull();
    await c.idle();
    await sleep(100);
    const quiet = resync();
    expect(quiet).toMatchObject({ full: false, containers: 3, kicked: 0 });
    // Once read in a settled state, nothing is read again while nothing changes.
    expect(resync()).toMatchObject({ full: false, read: 0, kicked: 0 });

    // A limit written by hand (lowered: v1 keeps memory <= memsw): no notification tells of it, so the incremental resyncs keep the
    // observation they have; the next full one reads it and hands a to its worker.
    const memoryFile = inst.driver.version === 'v2' ? 'memory.max' : 'memory.limit_in_bytes';
    const memoryDir = inst.driver.dirs('a').find((d) => inst.driver.version === 'v2' || /\/memory[,/]/.test(d))!;
    writeFileSync(join(memoryDir, memoryFile), String(48 * 2 ** 20));
    expect(rawLimits(inst, 'a').memory).toBe(String(48 * 2 ** 20));
    const before = untilFull();
    expect(before.length).toBeLessThan(fullEvery);
    for (const s of before) expect(s).toMatchObject({ read: 0, kicked: 0 });
    expect(resyncs.at(-1)).toMatchObject({ full: true, read: 3, kicked: 1 });
    await c.idle();
    expect(rawLimits(inst, 'a').memory).toBe(String(64 * 2 ** 20));
    expect(c.counts.update).toBe(1);

    // A record changed behind its back (b's pids record removed, as a wiped state dir would):
    // b's dir changed, so the next incremental resync reads b alone and records its pids again.
    await sleep(100);
    const bPid = inst.pid('b');
    rmSync(containerPaths(inst.dirs, 'b').pids);
    const afterRecord = resync();
    expect(afterRecord).toMatchObject({ full: false, read: 1 });
    await c.idle();
    expect(inst.pid('b')).toBe(bPid);

    // A process killed: its monitor's exit watch tells at once, no resync needed.
    const kPid = inst.pid('k');
    process.kill(kPid, 'SIGKILL');
    await until(() => inst.runsAnotherPid('k', kPid), 'k restarted from its exit watch');
    await c.idle();
    expect(c.counts.restart).toBe(1);
  });

  it('survives errors in its resyncs and reloads: logs them, keeps serving every container', async () => {
    mkdirSync(inst.dirs.stateDir, { recursive: true });
    writeFileSync(join(inst.dirs.stateDir, '.sources'), 'not a directory');
    const d = startDaemon(inst, ['--resync', '200ms', '--removal-delay', '100ms']);
    try {
      inst.writeSpec('a.yaml', inst.spec('a'));
      await until(() => running('a'), 'a running despite the failing status writes', 20_000);
      await sleep(1000);
      expect(d.child.exitCode).toBeNull();
      expect(d.child.signalCode).toBeNull();
      inst.writeSpec('b.yaml', inst.spec('b'));
      await until(() => running('b'), 'b running', 20_000);
      expect(d.log()).toMatch(/ENOTDIR|EEXIST/);
    } finally {
      await d.stop();
      rmSync(join(inst.dirs.stateDir, '.sources'), { force: true });
    }
  });
});
