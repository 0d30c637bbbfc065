import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { readNetworkRecord } from '../../reconciler/network/attach.js';
import { networkPaths } from '../../reconciler/state/layout.js';
import { instanceFlags, POCKER_BIN, pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeNetwork, TestNetwork } from '../helpers/network.js';
import { until } from '../helpers/wait.js';
import { appsLayer, LAYER_BUILD_TIMEOUT_MS, LAYER_CACHE } from '../helpers/debianLayer.js';

/** A Debian 12 layer with redis-server (and redis-cli). */
const REDIS_LAYER = join(LAYER_CACHE, 'debian-apps');

const percentile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};

describeNetwork('an app of three on one bridge: names, dependencies, a job, network health checks, --wait', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  beforeAll(appsLayer, LAYER_BUILD_TIMEOUT_MS);
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    const { failed, left } = await net.tearDown();
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
  });
  const hosts = (name: string): string => readFileSync(join(networkPaths(inst.dirs, name).etcDir, 'hosts'), 'utf8');
  const addressOf = (name: string): string => readNetworkRecord(inst.host, inst.dirs, name)!.address!;
  const redis = (extra: Record<string, unknown> = {}) => ({
    name: 'redis',
    image: { layers: [REDIS_LAYER] },
    command: ['redis-server', '--bind', '0.0.0.0', '--protected-mode', 'no', '--save', '', '--appendonly', 'no'],
    network: net.spec(),
    healthcheck: { tcp: { port: 6379 }, interval: '200ms', retries: 2 },
    stopGracePeriod: '2s',
    ...extra,
  });
  const job = (command = 'redis-cli -h redis SET greeting hello-from-job') => ({
    name: 'job',
    image: { layers: [REDIS_LAYER] },
    command: ['sh', '-c', command],
    restart: 'never',
    network: net.spec(),
    dependsOn: [{ name: 'redis', condition: 'healthy' }],
  });
  const web = () => ({
    name: 'web',
    image: { layers: [REDIS_LAYER] },
    command: ['sh', '-c', 'while :; do echo "got $(redis-cli -h redis GET greeting)"; sleep 0.2; done'],
    network: { ...net.spec(), aliases: ['front'] },
    dependsOn: [{ name: 'job', condition: 'completed' }],
    stopGracePeriod: '1s',
  });
  const once = (...args: string[]) =>
    spawnSync(process.execPath, [POCKER_BIN, 'reconcile', '--once', ...instanceFlags(inst), '--cni-conf-dir', net.opts.confDir, ...args], {
      encoding: 'utf8',
      timeout: 120_000,
    });

  it('starts redis, then the job once redis is healthy, then web once the job completed, in one --wait pass; names follow containers', async () => {
    inst.writeSpec('redis.yaml', redis());
    inst.writeSpec('job.yaml', job());
    inst.writeSpec('web.yaml', web());
    const r = once('--wait=60s');
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(0);
    expect(r.stdout).toContain('converged');
    await inst.waitForLog('web', /got hello-from-job/);
    const ps = JSON.parse(pocker(inst, 'ps', ['-o', 'json']).stdout) as Array<{ name: string; state: string }>;
    expect(Object.fromEntries(ps.map((e) => [e.name, e.state]))).toEqual({ job: 'completed', redis: 'running (healthy)', web: 'running' });
    expect(hosts('web')).toContain(`${addressOf('redis')}\tredis`);
    expect(hosts('redis')).toContain(`${addressOf('web')}\tweb front`);
    expect(hosts('web')).not.toContain('job');

    const jobRecord = inst.container('job').record!;
    const again = await inst.reconcile({ network: net.opts });
    expect(again.plan.actions.map((a) => [a.name, a.kind])).toEqual([
      ['job', 'none'],
      ['redis', 'none'],
      ['web', 'none'],
    ]);
    expect(inst.container('job').record!.createdAtMs).toBe(jobRecord.createdAtMs);

    // Recreated with another address: web resolves the new one at once.
    const before = addressOf('redis');
    inst.writeSpec('redis.yaml', redis({ env: { GENERATION: '2' } }));
    const recreated = await inst.reconcile({ network: net.opts });
    expect(recreated.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['redis', 'recreate', true]]);
    const after = addressOf('redis');
    expect(after).not.toBe(before);
    const t0 = Date.now();
    await until(() => hosts('web').includes(`${after}\tredis`), 'web resolving redis at its new address', 1000, 5);
    const ping = spawnSync(
      process.execPath,
      [POCKER_BIN, 'exec', ...instanceFlags(inst), 'web', '--', 'redis-cli', '-h', 'redis', 'PING'],
      { encoding: 'utf8' },
    );
    expect(ping.stdout.trim()).toBe('PONG');
    expect(Date.now() - t0).toBeLessThan(2000);

    // Gone: no record of its name is left (the job's file now names an unknown dependency and is kept as it is).
    inst.removeSpec('redis.yaml');
    await inst.reconcile({ network: net.opts });
    expect(inst.actual().containers.has('redis')).toBe(false);
    expect(hosts('web')).not.toMatch(/\sredis(\s|$)/);
  }, 180_000);

  it('keeps the dependents of a failed job waiting with the reason; --wait returns 3 at once; a spec error is exit 1', async () => {
    inst.writeSpec('redis.yaml', redis());
    inst.writeSpec('job.yaml', job('exit 3'));
    inst.writeSpec('web.yaml', web());
    const r = once('--wait=60s');
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(3);
    expect(r.stdout).toMatch(/not converged: failed: job: exited with code 3; waiting: web: not created/);
    const plan = await inst.reconcile({ network: net.opts, dryRun: true });
    expect(plan.plan.actions.find((a) => a.name === 'web')).toMatchObject({
      kind: 'none',
      reason: 'waiting: job not completed (it failed: exit 3)',
    });
    inst.writeSpec('job.yaml', `${JSON.stringify(job()).slice(0, -1)}, "dependsOn": [{"name": "nosuch"}]}`);
    expect(once('--wait=5s').status).toBe(1);
  }, 120_000);

  it('checks http and tcp from inside the network namespace of a container that has no tools at all', async () => {
    const root = join(inst.root, 'bare');
    mkdirSync(join(root, 'bin'), { recursive: true });
    mkdirSync(join(root, 'www'), { recursive: true });
    copyFileSync('/bin/busybox', join(root, 'bin', 'httpd'));
    writeFileSync(join(root, 'www', 'index.html'), 'ok\n');
    for (const d of ['proc', 'dev', 'sys', 'tmp', 'etc']) mkdirSync(join(root, d), { recursive: true });
    inst.writeSpec('bare.yaml', {
      name: 'bare',
      image: { layers: [root] },
      command: ['/bin/httpd', 'httpd', '-f', '-p', '8080', '-h', '/www'],
      healthcheck: { http: { port: 8080, path: '/index.html' }, interval: '200ms' },
    });
    inst.writeSpec('closed.yaml', {
      ...redis(),
      name: 'closed',
      command: ['sleep', '3600'],
      healthcheck: { tcp: { port: 6379 }, interval: '200ms', retries: 1, onUnhealthy: 'none' },
      network: net.spec(),
    });
    inst.writeSpec('missing.yaml', {
      name: 'missing',
      image: { layers: [root] },
      command: ['/bin/httpd', 'httpd', '-f', '-p', '8080', '-h', '/www'],
      healthcheck: { http: { port: 8080, path: '/nothing-here', expectStatus: 200 }, interval: '200ms', retries: 1, onUnhealthy: 'none' },
    });
    const r = once('--wait=4s');
    expect(r.status, `${r.stdout}${r.stderr}`).toBe(3);
    expect(r.stdout).toMatch(/waiting: .*closed: unhealthy.*missing: unhealthy/);
    const health = (name: string) =>
      JSON.parse(readFileSync(join(inst.dirs.stateDir, name, 'health.json'), 'utf8')) as { status: string; lastOutput: string };
    expect(health('bare')).toMatchObject({ status: 'healthy', lastOutput: 'GET /index.html: HTTP 200' });
    expect(health('missing')).toMatchObject({ status: 'unhealthy', lastOutput: 'GET /nothing-here: HTTP 404' });
    expect(health('closed').lastOutput).toMatch(/ECONNREFUSED|refused/i);
  }, 120_000);

  it('measures how soon a peer resolves a container by name after its start and after a recreate (watching controller)', async () => {
    const n = Number(process.env.POCKER_NAME_SAMPLES ?? 50);
    const peer = { name: 'peer', image: { layers: [REDIS_LAYER] }, command: ['sleep', '3600'], network: net.spec(), stopGracePeriod: '1s' };
    inst.writeSpec('peer.yaml', peer);
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      network: net.opts,
      resyncMs: 3_600_000,
      removalDelayMs: 50,
      healthChecks: false,
    });
    await ctl.start();
    const afterStart: number[] = [];
    const afterRecreate: number[] = [];
    try {
      await until(() => inst.runningPid('peer') !== null, 'peer running', 20_000, 20);
      const target = (gen: number) => ({
        name: 'target',
        image: { layers: [REDIS_LAYER] },
        command: ['sleep', '3600'],
        network: net.spec(),
        env: { GEN: String(gen) },
        stopGracePeriod: '1s',
      });
      for (let i = 0; i < n; i++) {
        // A start: the name appears in the peer's /etc/hosts; measured from the moment the new address was recorded.
        inst.writeSpec('target.yaml', target(i * 2));
        await until(
          () =>
            existsSync(networkPaths(inst.dirs, 'target').record) &&
            !!readNetworkRecord(inst.host, inst.dirs, 'target')?.address &&
            hosts('peer').includes(`${addressOf('target')}\ttarget`),
          'peer resolving target after its start',
          10_000,
          2,
        );
        afterStart.push(Date.now() - statSync(networkPaths(inst.dirs, 'target').record).mtimeMs);
        // A recreate: a new address replaces the old one.
        const old = addressOf('target');
        inst.writeSpec('target.yaml', target(i * 2 + 1));
        await until(
          () => {
            const a = readNetworkRecord(inst.host, inst.dirs, 'target')?.address;
            return !!a && a !== old && hosts('peer').includes(`${a}\ttarget`);
          },
          'peer resolving target after its recreate',
          10_000,
          2,
        );
        afterRecreate.push(Date.now() - statSync(networkPaths(inst.dirs, 'target').record).mtimeMs);
        inst.removeSpec('target.yaml');
        await until(() => !hosts('peer').includes('\ttarget'), 'target gone from the peer', 10_000, 5);
      }
    } finally {
      await ctl.stop();
    }
    const line = (what: string, xs: number[]) =>
      `${what}: p50 ${Math.round(percentile(xs, 50))} ms, p99 ${Math.round(percentile(xs, 99))} ms, max ${Math.round(Math.max(...xs))} ms (n=${xs.length})`;
    console.log(`name resolution by a peer, ${line('after a start', afterStart)}; ${line('after a recreate', afterRecreate)}`);
    expect(percentile(afterStart, 99)).toBeLessThan(1000);
    expect(percentile(afterRecreate, 99)).toBeLessThan(1000);
  }, 600_000);
});
