import { beforeAll, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { readAutoUpdate } from '../../reconciler/state/autoUpdate.js';
import { pocker, startDaemon } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { pushTestImage, useTestRegistry, type TestFile, type TestImageSpec, type TestRegistry } from '../helpers/registry.js';
import { sleep, until } from '../helpers/wait.js';

/** A version of the app: prints its version; `exit` makes it fail after 1 s; `healthy: false` serves no /ok. */
function version(base: Record<string, TestFile>, v: string, o: { exit?: boolean; healthy?: boolean } = {}): TestImageSpec {
  const serve = o.healthy === false ? 'mkdir -p /www' : 'mkdir -p /www && echo ok > /www/ok';
  // A failing version serves its health check until it exits: what rolls it back is the exit.
  const tail = o.exit ? 'httpd -p 8080 -h /www; sleep 1; exit 1' : 'exec httpd -f -p 8080 -h /www';
  return {
    layers: [{ files: { ...base, version: v } }],
    config: { cmd: ['sh', '-c', `echo version=$(cat /version); ${serve}; ${tail}`] },
  };
}

/** The check interval of the tests (AUTO_UPDATE_INTERVAL=2s for the figure the README quotes). */
const INTERVAL = process.env.AUTO_UPDATE_INTERVAL ?? '1s';
const SAMPLES = Math.max(3, Number(process.env.AUTO_UPDATE_SAMPLES ?? 3));

describeKernel('auto-update from a registry with health-gated rollback', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  const registry = useTestRegistry({ timeoutMs: 3_000, attempts: 1 });
  let reg: TestRegistry;
  let base: Record<string, TestFile>;
  beforeAll(() => {
    ({ reg, base } = registry);
  });
  beforeEach(() => {
    inst = current();
  });
  const client = registry.client;
  const spec = (repo: string) => ({
    name: 'web',
    image: `${reg.host}/test/${repo}:1`,
    autoUpdate: { interval: INTERVAL, rollbackWindow: '5s' },
    healthcheck: { http: { port: 8080, path: '/ok' }, interval: '300ms', timeout: '1s', retries: 2, onUnhealthy: 'none' },
    restartBackoff: { initial: '100ms', max: '200ms' },
    stopGracePeriod: '1s',
  });
  const digestOf = (): string | null => inst.actual().containers.get('web')?.record?.spec.image?.digest ?? null;
  const controller = () =>
    new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      registry: client,
      resyncMs: 3_600_000,
    });

  it(
    'moves to each good version pushed, rolls back a failing one and an unhealthy one, marks them bad, and survives a registry that is down',
    async () => {
      const v1 = await pushTestImage(reg, 'test/app', '1', version(base, '1'));
      inst.writeSpec('web.yaml', spec('app'));
      const ctl = controller();
      await ctl.start();
      try {
        await until(() => digestOf() === v1 && inst.runningPid('web') !== null, 'web on v1', 30_000, 50);

        const updates: number[] = [];
        let good = v1;
        // AUTO_UPDATE_SAMPLES=20 measures more updates (the figure of the README); 3 on CI.
        for (const v of Array.from({ length: SAMPLES }, (_, i) => String(i + 2))) {
          const t0 = Date.now();
          good = await pushTestImage(reg, 'test/app', '1', version(base, v));
          await until(() => digestOf() === good && inst.runningPid('web') !== null, `web on v${v}`, 15_000, 20);
          updates.push(Date.now() - t0);
          await inst.waitForLog('web', new RegExp(`version=${v}`));
          await until(() => readAutoUpdate(inst.host, inst.dirs, 'web')?.phase === 'idle', `v${v} through its window`, 15_000, 50);
        }
        const sorted = [...updates].sort((x, y) => x - y);
        console.log(
          `auto-update: tag push to new version running over ${updates.length} updates at a ${INTERVAL} interval: p50 ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`,
        );

        // A version that exits 1 after a second: updated, then rolled back within its window, marked bad.
        const bad = await pushTestImage(reg, 'test/app', '1', version(base, 'bad', { exit: true }));
        await until(() => digestOf() === bad, 'web on the failing version', 15_000, 20);
        const failedAt = Date.now();
        await until(() => digestOf() === good && readAutoUpdate(inst.host, inst.dirs, 'web')?.phase === 'idle', 'rolled back', 20_000, 20);
        console.log(`auto-update: failing version rolled back ${Date.now() - failedAt} ms after it started`);
        const s = readAutoUpdate(inst.host, inst.dirs, 'web')!;
        expect(s.bad).toContain(bad);
        expect(s.lastRollback).toMatchObject({ bad, to: good, reason: expect.stringMatching(/exited with code 1|restarted/) });
        const pid = inst.pid('web');
        await sleep(3000);
        expect(digestOf()).toBe(good);
        expect(inst.pid('web')).toBe(pid);
        expect(pocker(inst, 'ps').stdout).toMatch(/\[rolled back\]/);
        expect(pocker(inst, 'status').stdout).toMatch(
          /web rolled back at .* from sha256:[0-9a-f]+ to sha256:[0-9a-f]+: it (exited with code 1|restarted \d times) \(marked bad\)/,
        );
        const preview = JSON.parse(pocker(inst, 'image', ['updates', '-o', 'json']).stdout) as Array<{ action: string }>;
        expect(preview).toMatchObject([{ name: 'web', action: 'bad', pinned: good, current: bad }]);

        // A version that only fails its health check.
        const sick = await pushTestImage(reg, 'test/app', '1', version(base, 'sick', { healthy: false }));
        await until(() => digestOf() === sick, 'web on the unhealthy version', 15_000, 20);
        await until(
          () => digestOf() === good && readAutoUpdate(inst.host, inst.dirs, 'web')?.phase === 'idle',
          'rolled back from unhealthy',
          20_000,
          20,
        );
        expect(readAutoUpdate(inst.host, inst.dirs, 'web')!.lastRollback?.reason).toMatch(/health check failed/);

        // The registry down: the check fails, nothing changes; back up, the next good version moves it.
        reg.kill();
        await until(() => /failed/.test(readAutoUpdate(inst.host, inst.dirs, 'web')?.lastCheck?.error ?? ''), 'a failed check', 10_000, 50);
        expect(digestOf()).toBe(good);
        expect(pocker(inst, 'status').stdout).toMatch(/last check at .* failed: pull of .* failed/);
        await reg.restart();
        const next = await pushTestImage(reg, 'test/app', '1', version(base, '5'));
        await until(() => digestOf() === next, 'web on v5 after the registry came back', 15_000, 20);
      } finally {
        await ctl.stop();
      }
    },
    180_000 + SAMPLES * 12_000,
  );

  it('a controller killed at each step of an update or a rollback: the next one finishes or undoes it, one version running', async () => {
    const v1 = await pushTestImage(reg, 'test/steps', '1', version(base, '1'));
    inst.writeSpec('web.yaml', spec('steps'));
    expect(pocker(inst, 'reconcile', ['--once']).status).toBe(0);
    expect(digestOf()).toBe(v1);
    let good = v1;
    for (const step of ['updating', 'moved']) {
      good = await pushTestImage(reg, 'test/steps', '1', version(base, `after-${step}`));
      const dying = startDaemon(inst, [], { POCKER_FAULT: `auto-update:${step}:web=kill` });
      await until(() => dying.child.exitCode !== null || dying.child.signalCode !== null, `the controller killed at ${step}`, 20_000, 20);
      await dying.stop();
      expect(inst.actual().containers.size).toBe(1);
      const next = startDaemon(inst);
      try {
        await until(
          () => digestOf() === good && inst.runningPid('web') !== null,
          `web on the new version after a kill at ${step}`,
          15_000,
          20,
        );
        await until(() => readAutoUpdate(inst.host, inst.dirs, 'web')?.phase === 'idle', 'its window passed', 15_000, 50);
      } finally {
        await next.stop();
      }
    }
    for (const step of ['rolling-back', 'rolled-back']) {
      const bad = await pushTestImage(reg, 'test/steps', '1', version(base, `bad-${step}`, { exit: true }));
      const dying = startDaemon(inst, [], { POCKER_FAULT: `auto-update:${step}:web=kill` });
      await until(() => dying.child.exitCode !== null || dying.child.signalCode !== null, `the controller killed at ${step}`, 30_000, 20);
      await dying.stop();
      expect(inst.actual().containers.size).toBe(1);
      const next = startDaemon(inst);
      try {
        await until(
          () => digestOf() === good && readAutoUpdate(inst.host, inst.dirs, 'web')?.phase === 'idle',
          `rolled back after a kill at ${step}`,
          20_000,
          20,
        );
        expect(readAutoUpdate(inst.host, inst.dirs, 'web')!.bad).toContain(bad);
      } finally {
        await next.stop();
      }
    }
  }, 240_000);
});
