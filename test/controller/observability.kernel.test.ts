import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { EventJournal } from '../../reconciler/state/eventJournal.js';
import { RecordedEvents, type PockerEvent } from '../../reconciler/state/events.js';
import { renderedDom, screenshot } from '../helpers/chromium.js';
import { pocker, startDaemon } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { startPrometheus, type TestPrometheus } from '../helpers/prometheus.js';
import { freePort } from '../helpers/registry.js';
import { sleep, until, untilAsync } from '../helpers/wait.js';

describeKernel('observability on the real kernel: metrics, Prometheus, the status page, events and hooks', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let tmp: string;
  let daemon: ReturnType<typeof startDaemon> | null = null;
  let prom: TestPrometheus | null = null;
  let stopController: (() => Promise<void>) | null = null;
  beforeEach(() => {
    inst = current();
    tmp = mkdtempSync(join(tmpdir(), 'pocker-observe-'));
  });
  afterEach(async () => {
    await stopController?.();
    stopController = null;
    await prom?.stop();
    prom = null;
    await daemon?.stop();
    daemon = null;
    rmSync(tmp, { recursive: true, force: true });
  });

  /** A steady container, one whose children the kernel OOM-kills now and then, one that crashes, one OOM-killed for good. */
  const writeSpecs = (): void => {
    inst.writeSpec('steady.yaml', inst.spec('steady', { resources: { memory: '64Mi' } }));
    inst.writeSpec(
      'hog.yaml',
      inst.spec('hog', {
        resources: { memory: '32Mi' },
        command: ['sh', '-c', 'sleep 1; while :; do head -c 64m /dev/zero | tail >/dev/null; sleep 1; done'],
      }),
    );
    inst.writeSpec(
      'crasher.yaml',
      inst.spec('crasher', {
        command: ['sh', '-c', 'sleep 1; exit 3'],
        restart: 'always',
        restartBackoff: { initial: '200ms', max: '1s' },
      }),
    );
    inst.writeSpec(
      'oomer.yaml',
      inst.spec('oomer', { resources: { memory: '32Mi' }, restart: 'never', command: ['sh', '-c', 'head -c 64m /dev/zero | tail'] }),
    );
  };
  const startController = async (port: number, extra: string[] = []): Promise<string> => {
    daemon = startDaemon(inst, ['--metrics-addr', `127.0.0.1:${port}`, '--resync', '2s', ...extra]);
    const base = `http://127.0.0.1:${port}`;
    await untilAsync(async () => (await fetch(`${base}/metrics`)).ok, `metrics served (log: ${daemon.log().slice(-500)})`, 20_000);
    return base;
  };

  it('Prometheus scrapes it: memory matches the cgroup, OOM kills and restarts rise, promtool passes; Chromium renders the status page', async () => {
    writeSpecs();
    const port = await freePort();
    const base = await startController(port);
    prom = await startPrometheus(join(tmp, 'prometheus'), `127.0.0.1:${port}`);

    await untilAsync(async () => (await prom!.query('container_memory_usage_bytes{name="steady"}')) !== null, 'steady scraped', 30_000);
    const scraped = (await prom.query('container_memory_usage_bytes{name="steady"}'))!;
    const cgroup = inst.driver.usage('steady', inst.host)!.memoryBytes;
    expect(Math.abs(scraped - cgroup)).toBeLessThanOrEqual(cgroup * 0.1);
    expect(await prom.query('container_spec_memory_limit_bytes{name="steady"}')).toBe(64 * 2 ** 20);
    await untilAsync(
      async () => ((await prom!.query('increase(container_oom_events_total{name="hog"}[1m])')) ?? 0) > 0,
      'hog OOM kills',
      60_000,
    );
    await untilAsync(
      async () => ((await prom!.query('increase(pocker_container_restarts_total{name="crasher"}[1m])')) ?? 0) > 0,
      'crasher restarts',
      60_000,
    );
    expect(await prom.query('pocker_container_state{name="steady",state="running"}')).toBe(1);
    await untilAsync(async () => (await prom!.query('pocker_container_state{name="oomer",state="exited"}')) === 1, 'oomer exited', 30_000);
    expect(await prom.query('up{job="pocker"}')).toBe(1);

    const exposition = await (await fetch(`${base}/metrics`)).text();
    const lint = spawnSync('promtool', ['check', 'metrics'], { input: exposition, encoding: 'utf8', timeout: 30_000 });
    expect(lint.status, `${lint.stdout}${lint.stderr}`).toBe(0);
    expect((await fetch(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);

    const dom = renderedDom(`${base}/`);
    expect(dom).not.toMatch(/<script/);
    for (const name of ['steady', 'hog', 'crasher', 'oomer']) expect(dom).toContain(`data-name="${name}"`);
    const oomerRow = /<tr data-name="oomer"[^>]*>.*?<\/tr>/s.exec(dom)?.[0] ?? '';
    expect(oomerRow).toContain('data-state="exited"');
    expect(oomerRow).toMatch(/data-oom="true"[^>]*>OOM-killed</);
    expect(/<tr data-name="steady"[^>]*>/.exec(dom)?.[0]).toContain('data-state="running"');
    expect(dom).toMatch(/memory [0-9.]+ (KiB|MiB) \/ 64\.0 MiB/);
    const png = join(tmp, 'status-page.png');
    screenshot(`${base}/`, png, 1280, 720);
    expect(readFileSync(png).subarray(0, 8).toString('hex')).toBe('89504e470d0a1a0a');
    if (process.env.POCKER_STATUS_SCREENSHOT) copyFileSync(png, process.env.POCKER_STATUS_SCREENSHOT);
  });

  it('events: each once, in order, kept across a controller restart; the hook hears of the OOM kill and the restarts', async () => {
    writeSpecs();
    const heard = join(tmp, 'heard');
    const hook = join(tmp, 'hook');
    writeFileSync(hook, `#!/bin/sh\ncat >> ${heard}\n`);
    chmodSync(hook, 0o755);
    const port = await freePort();
    await startController(port, ['--notify-exec', hook]);
    const journal = new EventJournal(inst.dirs.dataDir);
    const of = (name: string): PockerEvent[] => journal.read().filter((e) => e.name === name);
    await until(() => of('crasher').filter((e) => e.type === 'restart').length >= 2, 'two crasher restarts', 30_000, 100);
    await until(() => of('oomer').some((e) => e.type === 'oom'), 'oomer OOM event', 30_000, 100);
    await daemon!.stop();

    const steady = of('steady').map((e) => e.type);
    expect(steady).toEqual(['create']);
    const oomer = of('oomer');
    expect(oomer.map((e) => e.type)).toEqual(['create', 'exit', 'oom']);
    expect(oomer[1]).toMatchObject({ exitCode: 137, oomKilled: true, source: inst.specDir, by: 'controller' });
    const crasher = of('crasher').map((e) => e.type);
    expect(crasher.slice(0, 4)).toEqual(['create', 'exit', 'restart', 'exit']);
    // Every restart follows the exit it answers: never two restarts without an exit between.
    for (let i = 1; i < crasher.length; i++) if (crasher[i] === 'restart') expect(crasher[i - 1]).toBe('exit');
    expect(of('crasher').find((e) => e.type === 'exit')).toMatchObject({ exitCode: 3 });

    // A new controller reports nothing twice: the oomer's exit stays reported once.
    await startController(port);
    inst.writeSpec('broken.yaml', 'name: broken\nrestart: sometimes\n');
    await until(() => journal.read().some((e) => e.type === 'spec-invalid'), 'spec-invalid event', 20_000, 100);
    // Resyncs (every 2 s) read the same errors again: they are not told again.
    await sleep(4500);
    await daemon!.stop();
    expect(of('oomer').map((e) => e.type)).toEqual(['create', 'exit', 'oom']);
    const invalid = journal.read().filter((e) => e.type === 'spec-invalid');
    // One event per problem of the file: the missing image, the unknown restart policy.
    expect(
      invalid.map((e) => [e.file, e.line]),
      JSON.stringify(invalid),
    ).toEqual([
      [join(inst.specDir, 'broken.yaml'), 1],
      [join(inst.specDir, 'broken.yaml'), 2],
    ]);

    const since = pocker(inst, 'events', ['--since', '1h', '-o', 'json', '--filter', 'name=oomer']);
    expect(since.status, since.stderr).toBe(0);
    expect(
      since.stdout
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as PockerEvent).type),
    ).toEqual(['create', 'exit', 'oom']);
    const text = pocker(inst, 'events', ['--filter', 'type=oom']);
    expect(text.stdout).toMatch(/^\S+ oom\s+oomer/m);
    expect(pocker(inst, 'events', ['--since', '2099-01-01T00:00:00Z']).stdout).toBe('');
    expect(pocker(inst, 'events', ['--filter', 'kind=x']).stderr).toMatch(/unknown key "kind"/);

    const hookEvents = readFileSync(heard, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PockerEvent);
    expect(hookEvents.some((e) => e.type === 'oom' && e.name === 'oomer')).toBe(true);
    expect(hookEvents.some((e) => e.type === 'restart' && e.name === 'crasher')).toBe(true);
    expect(hookEvents.every((e) => ['oom', 'restart', 'unhealthy', 'apply-failed', 'rolled-back'].includes(e.type))).toBe(true);
  });

  it('every action tells its event once: create, unhealthy and healthy, update with its fields, recreate, stop, apply-failed, removed', async () => {
    const events = new RecordedEvents();
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      removalDelayMs: 200,
      resyncMs: 60_000,
      allowEmpty: true,
      events,
    });
    stopController = () => ctl.stop();
    await ctl.start();
    const types = (name: string): string[] => events.types(name);
    // Fails its first check, passes the next ones (the mark stays in its writable layer).
    const flaky = ['sh', '-c', '[ -f /tmp/seen ] || { touch /tmp/seen; exit 1; }'];
    inst.writeSpec(
      'web.yaml',
      inst.spec('web', { resources: { memory: '64Mi' }, healthcheck: { exec: flaky, interval: '300ms', retries: 1, onUnhealthy: 'none' } }),
    );
    await until(() => types('web').includes('healthy'), 'web unhealthy, then healthy', 20_000, 50);
    inst.writeSpec(
      'web.yaml',
      inst.spec('web', { resources: { memory: '96Mi' }, healthcheck: { exec: flaky, interval: '300ms', retries: 1, onUnhealthy: 'none' } }),
    );
    await until(() => types('web').includes('update'), 'web updated', 10_000, 50);
    inst.writeSpec('web.yaml', inst.spec('web', { command: ['sleep', '3601'], resources: { memory: '96Mi' } }));
    await until(() => types('web').includes('recreate'), 'web recreated', 10_000, 50);
    inst.writeSpec('web.yaml', inst.spec('web', { command: ['sleep', '3601'], resources: { memory: '96Mi' }, state: 'stopped' }));
    await until(() => types('web').includes('stop'), 'web stopped', 10_000, 50);
    inst.writeSpec('bad.yaml', inst.spec('bad', { mounts: [{ source: join(tmp, 'nonexistent'), target: '/x' }] }));
    await until(() => types('bad').includes('apply-failed'), 'bad failed', 10_000, 50);
    inst.removeSpec('web.yaml');
    inst.removeSpec('bad.yaml');
    await until(() => types('web').includes('removed'), 'web removed', 10_000, 50);
    await ctl.idle();

    expect(types('web')).toEqual(['create', 'unhealthy', 'healthy', 'update', 'recreate', 'stop', 'exit', 'removed']);
    const byType = (t: string): PockerEvent => events.events.find((e) => e.name === 'web' && e.type === t)!;
    expect(byType('update').fields).toContain('memory');
    expect(byType('unhealthy')).toMatchObject({ exitCode: 1, source: inst.specDir });
    expect(byType('stop').reason).toMatch(/stopped/);
    const failed = events.events.find((e) => e.name === 'bad' && e.type === 'apply-failed')!;
    expect(failed).toMatchObject({ action: 'create', code: 'HOST_CHECK' });
    expect(String(failed.error)).toContain(join(tmp, 'nonexistent'));
    // A failure retried with backoff is told at each try, and nothing else is told for it.
    expect(new Set(types('bad'))).toEqual(new Set(['apply-failed']));
  });
});
