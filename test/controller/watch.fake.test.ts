import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import type { CgroupDriver } from '../../reconciler/cgroups/driver.js';
import { readSourceStatus } from '../../reconciler/controller/sourceStatus.js';
import { WatchController, type WatchOptions } from '../../reconciler/controller/watch.js';
import type { Logger } from '../../reconciler/log/logger.js';
import { observe } from '../../reconciler/observe/observe.js';
import { containerPaths, type InstanceDirs } from '../../reconciler/state/layout.js';
import { FakeHost } from '../helpers/fakeHost.js';
import { sleep, until } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-fake-watch-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

/** Specs per burst: as many as the real-kernel burst test, without the kernel. */
const N = 300;
const name = (i: number): string => `s${String(i).padStart(4, '0')}`;

describe('the watching controller against a fake host', () => {
  let fake: FakeHost;
  let driver: CgroupDriver;
  let dir: string;
  let dirs: InstanceDirs;
  let ctl: WatchController | null;
  let warnings: string[];
  beforeEach(() => {
    fake = new FakeHost('v2');
    const base = mkdtempSync(join(root, `w${seq++}-`));
    dir = join(base, 'specs');
    // The data dir is real (the controller watches the image store's refs file with chokidar); every record lives in the fake.
    dirs = { stateDir: '/run/pocker', dataDir: join(base, 'data'), cgroupParent: 'pocker' };
    driver = detectDriver(fake, dirs.cgroupParent);
    warnings = [];
    ctl = null;
    mkdirSync(dir);
  });
  afterEach(async () => {
    await ctl?.stop();
  });
  const log: Logger = { debug() {}, info() {}, warn: (_o, m) => warnings.push(m ?? ''), error: (_o, m) => warnings.push(m ?? '') };
  const start = async (extra: Partial<WatchOptions> = {}): Promise<WatchController> => {
    ctl = new WatchController({
      dir,
      dirs,
      host: fake,
      driver,
      monitorBinary: '/monitor',
      removalDelayMs: 50,
      resyncMs: 3_600_000,
      log,
      ...extra,
    });
    await ctl.start();
    return ctl;
  };
  const spec = (n: string, extra: Record<string, unknown> = {}): string =>
    stringify({ name: n, image: { layers: ['/layers/busybox'] }, command: ['sleep', '3600'], resources: { memory: '16Mi' }, ...extra });
  const containers = () => observe(fake, dirs, driver).containers;
  const running = (): Map<string, number> =>
    new Map([...containers()].filter(([, a]) => a.initAlive).map(([n, a]) => [n, a.pids!.initPid]));

  it('gives the memory its work freed back to the kernel once quiet after it, and not while idle', async () => {
    await start();
    await sleep(1_500);
    const afterStart = fake.freeMemoryReleases;
    expect(afterStart).toBe(1);
    for (let i = 0; i < 20; i++) writeFileSync(join(dir, `${name(i)}.yaml`), spec(name(i)));
    await until(() => running().size === 20, '20 running', 20_000, 50);
    await sleep(1_500);
    const afterWork = fake.freeMemoryReleases;
    expect(afterWork).toBeGreaterThan(afterStart);
    await sleep(2_500);
    expect(fake.freeMemoryReleases).toBe(afterWork);
  });

  it(`starts ${N} specs of one burst, edits all of them in place, and removes them all at once with --allow-empty`, async () => {
    await start({ allowEmpty: true });
    for (let i = 0; i < N; i++) writeFileSync(join(dir, `${name(i)}.yaml`), spec(name(i)));
    await until(() => running().size === N, `${N} running`, 20_000, 50);
    const before = running();
    for (let i = 0; i < N; i++) writeFileSync(join(dir, `${name(i)}.yaml`), spec(name(i), { resources: { memory: '24Mi' } }));
    await until(() => [...containers().values()].every((a) => a.limits?.memory === 24 * 2 ** 20), 'every memory limit 24Mi', 20_000, 50);
    expect(running()).toEqual(before);
    expect(ctl!.counts).toMatchObject({ create: N, update: N, recreate: 0, remove: 0 });
    for (let i = 0; i < N; i++) rmSync(join(dir, `${name(i)}.yaml`));
    await until(() => containers().size === 0, 'every container removed', 20_000, 50);
    expect(fake.liveInits()).toEqual([]);
    expect(driver.list(fake)).toEqual([]);
  }, 60_000);

  it('keeps every container when the dir empties without --allow-empty, and records why in the source status', async () => {
    await start();
    for (let i = 0; i < 10; i++) writeFileSync(join(dir, `${name(i)}.yaml`), spec(name(i)));
    await until(() => running().size === 10, '10 running', 10_000, 20);
    const before = running();
    for (let i = 0; i < 10; i++) rmSync(join(dir, `${name(i)}.yaml`));
    await until(() => warnings.some((w) => w.includes('has no spec files: 10 container(s) kept')), 'the warning', 10_000, 20);
    await sleep(300);
    expect(running()).toEqual(before);
    expect(readSourceStatus(fake, dirs.stateDir, dir)?.removalsHeld).toMatchObject({
      count: 10,
      reason: expect.stringMatching(/--allow-empty/),
    });
  }, 30_000);

  it('removes none of a decision over --max-deletions, and says so', async () => {
    await start({ maxDeletions: 3 });
    for (let i = 0; i < 8; i++) writeFileSync(join(dir, `${name(i)}.yaml`), spec(name(i)));
    await until(() => running().size === 8, '8 running', 10_000, 20);
    for (let i = 1; i < 8; i++) rmSync(join(dir, `${name(i)}.yaml`));
    await until(
      () => warnings.some((w) => w.includes('7 containers would be removed at once, more than --max-deletions 3: removing none')),
      'the refusal',
      10_000,
      20,
    );
    await sleep(300);
    expect(running().size).toBe(8);
    expect(ctl!.counts.remove).toBe(0);
  }, 30_000);

  it('restarts an exited container from its exit watch alone (no resync), with restart: always', async () => {
    await start();
    writeFileSync(join(dir, 'a.yaml'), spec('a', { restart: 'always' }));
    await until(() => running().has('a'), 'a running', 10_000, 20);
    const pid = running().get('a')!;
    fake.exit(pid, 0, 3);
    await until(() => (running().get('a') ?? pid) !== pid, 'a restarted', 10_000, 20);
    expect(ctl!.counts.restart).toBe(1);
    expect(containers().get('a')!.record?.lastExit?.exitCode).toBe(3);
  }, 30_000);

  it('runs health checks inside the container and restarts it after `retries` failures in a row', async () => {
    await start();
    fake.execAnswer = () => ({ exitCode: 1, output: 'not ready' });
    writeFileSync(
      join(dir, 'h.yaml'),
      spec('h', { healthcheck: { exec: ['check', '--now'], interval: '100ms', timeout: '1s', retries: 2 } }),
    );
    await until(() => running().has('h'), 'h running', 10_000, 20);
    const pid = running().get('h')!;
    await until(() => (running().get('h') ?? pid) !== pid, 'h restarted as unhealthy', 10_000, 20);
    expect(fake.execs.filter((a) => a.join(' ') === 'check --now').length).toBeGreaterThanOrEqual(2);
    expect(warnings.join('\n')).not.toMatch(/health check of h:/);
    fake.execAnswer = () => ({ exitCode: 0, output: '' });
    const second = running().get('h')!;
    await until(() => JSON.parse(fake.readFile(containerPaths(dirs, 'h').health) ?? '{}').status === 'healthy', 'h healthy', 10_000, 20);
    expect(running().get('h')).toBe(second);
  }, 30_000);

  it('retries a start the host may mend with backoff, and one only the spec can mend not at all', async () => {
    await start();
    writeFileSync(join(dir, 'gone.yaml'), stringify({ name: 'gone', image: { layers: ['/no/such/layer'] }, command: ['sleep', '1'] }));
    const env = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`V${i}`, 'x']));
    writeFileSync(join(dir, 'big.yaml'), spec('big', { env }));
    const failures = (n: string): number => warnings.filter((w) => w.startsWith(`create ${n} failed`)).length;
    // Each reload of the burst (at once, and the trailing one) looks at both; after that only backoff retries.
    await sleep(300);
    const [gone, big] = [failures('gone'), failures('big')];
    expect(big).toBeGreaterThanOrEqual(1);
    await sleep(1000);
    expect(failures('gone')).toBeGreaterThanOrEqual(gone + 1);
    expect(failures('big')).toBe(big);
    expect(warnings.find((w) => w.startsWith('create big failed'))).toMatch(
      /env has 303 entries .*\(not retried until the spec or the host changes\)$/,
    );
    writeFileSync(join(dir, 'big.yaml'), spec('big'));
    await until(() => running().has('big'), 'big running once its spec is fixed', 10_000, 20);
  }, 30_000);

  it('starts dependents as their dependencies get there: healthy, then completed, from events alone', async () => {
    let healthy = false;
    fake.execAnswer = () => ({ exitCode: healthy ? 0 : 1, output: '' });
    await start();
    writeFileSync(join(dir, 'db.yaml'), spec('db', { healthcheck: { exec: ['check'], interval: '100ms', retries: 100 } }));
    writeFileSync(join(dir, 'job.yaml'), spec('job', { restart: 'never', dependsOn: [{ name: 'db', condition: 'healthy' }] }));
    writeFileSync(join(dir, 'web.yaml'), spec('web', { dependsOn: [{ name: 'job', condition: 'completed' }] }));
    await until(() => running().has('db'), 'db running', 10_000, 20);
    await sleep(300);
    expect([...running().keys()]).toEqual(['db']);
    healthy = true;
    await until(() => running().has('job'), 'job started once db is healthy', 10_000, 20);
    expect(running().has('web')).toBe(false);
    fake.exit(running().get('job')!, 0, 0);
    await until(() => running().has('web'), 'web started once the job completed', 10_000, 20);
    await sleep(300);
    expect(running().has('job')).toBe(false);
    expect(ctl!.counts.create).toBe(3);
  }, 30_000);
});
