import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { stringify } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { reconcileOnce, specCachePath } from '../../reconciler/controller/once.js';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import { plan } from '../../reconciler/plan/plan.js';
import { DEFAULT_BACKOFF } from '../../reconciler/plan/backoff.js';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import { observe } from '../../reconciler/observe/observe.js';
import { gatherFacts } from '../../reconciler/runtime/facts.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { countingHost } from '../helpers/countingHost.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-fake-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const MiB = 2 ** 20;
const resourcesArb = fc
  .record(
    {
      cpus: fc.constantFrom(0.01, 0.1, 0.25, 0.5, 1, 1.5, 2, 3.999),
      cpuset: fc.constantFrom('0', '1', '0-1', '0,2', '1-3', '3,1,2'),
      memory: fc.integer({ min: 4 * MiB, max: 2048 * MiB }),
      swapExtra: fc.option(fc.oneof(fc.integer({ min: 0, max: 512 * MiB }), fc.constant(-1)), { nil: undefined }),
      pids: fc.integer({ min: 1, max: 100_000 }),
      cpuShares: fc.integer({ min: 2, max: 262_144 }),
    },
    { requiredKeys: [] },
  )
  .map((r) => {
    const out: Record<string, unknown> = {};
    if (r.cpus !== undefined) out.cpus = r.cpus;
    if (r.cpuset !== undefined) out.cpuset = r.cpuset;
    if (r.memory !== undefined) {
      out.memory = r.memory;
      if (r.swapExtra !== undefined) out.memsw = r.swapExtra === -1 ? 'unlimited' : r.memory + r.swapExtra;
    }
    if (r.pids !== undefined) out.pids = r.pids;
    if (r.cpuShares !== undefined) out.cpuShares = r.cpuShares;
    return out;
  });

const specArb = fc.record({
  command: fc.constantFrom(['sleep', '3600'], ['httpd', '-f'], ['sh', '-c', 'exec sleep 1']),
  restart: fc.constantFrom(undefined, 'always', 'on-failure', 'never'),
  env: fc.option(fc.dictionary(fc.constantFrom('A', 'B', 'C'), fc.constantFrom('1', '2')), { nil: undefined }),
  resources: resourcesArb,
});

/** A desired set: some of the names a..e, each with a spec, spread over files. */
const setArb = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd', 'e'), specArb, { maxKeys: 5 });

/** What happens to the running containers between two passes. */
const eventArb = fc.record({
  kill: fc.subarray(['a', 'b', 'c', 'd', 'e']),
  exitCode: fc.constantFrom(0, 1, 137),
});

/** One generated container spec (the fields the generators vary). */
interface GeneratedSpec {
  command: readonly string[];
  restart: string | undefined;
  env: Record<string, string> | undefined;
  resources: Record<string, unknown>;
}

function writeSet(dir: string, set: Record<string, GeneratedSpec | undefined>): void {
  for (const f of readdirSync(dir)) rmSync(join(dir, f));
  for (const [name, s] of Object.entries(set)) {
    if (!s) continue;
    const spec: Record<string, unknown> = { name, image: { layers: ['/layers/busybox'] }, command: s.command, resources: s.resources };
    if (s.restart) spec.restart = s.restart;
    if (s.env) spec.env = s.env;
    writeFileSync(join(dir, `${name}.yaml`), stringify(spec));
  }
}

/** How many parses the spec cache of the fake host's state dir holds. */
function cachedParses(fake: FakeHost): number {
  const file = (fake.readDir('/run/pocker') ?? []).find((n) => n.startsWith('.spec-cache-'));
  const data = file ? (JSON.parse(fake.readFile(`/run/pocker/${file}`) ?? '{}') as { entries?: object }) : {};
  return Object.keys(data.entries ?? {}).length;
}

describe.each(['v1', 'v2'] as const)('reconcile against a fake %s kernel', (version) => {
  it('converges in one pass: the next pass plans only none and makes no host call, and the kernel holds the desired limits', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.tuple(setArb, eventArb), { minLength: 1, maxLength: 4 }), async (steps) => {
        const fake = new FakeHost(version);
        const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
        const dir = mkdtempSync(join(root, `s${seq++}-`));
        const driver = detectDriver(fake, dirs.cgroupParent);
        for (const [set, event] of steps) {
          writeSet(dir, set);
          const first = await reconcileOnce({ dir, dirs, host: fake, driver, allowEmpty: true, monitorBinary: '/monitor' });
          expect(first.ok, JSON.stringify([first.results.filter((r) => !r.ok), first.plan.problems])).toBe(true);
          // The first pass keeps a parse only of files that had settled (SpecCache): one read right
          // after the write leaves the caching of the rest to the next pass, and only then may it write the cache.
          const settled = cachedParses(fake) === Object.values(set).filter(Boolean).length;
          const { host, calls, bookkeeping } = countingHost(fake);
          const second = await reconcileOnce({ dir, dirs, host, driver, allowEmpty: true, monitorBinary: '/monitor' });
          const restartable = second.plan.actions.filter((a) => a.kind !== 'none');
          expect(restartable, JSON.stringify(second.plan.actions)).toEqual([]);
          expect(calls).toEqual([]);
          const cacheWrite = /^(writeFileAtomic|removeFile) \/run\/pocker\/\.spec-cache-[0-9a-f]{16}\.json$/;
          expect(settled ? bookkeeping : bookkeeping.filter((b) => !cacheWrite.test(b))).toEqual([
            'mkdir /run/pocker/.sources',
            expect.stringMatching(/^writeFileAtomic \/run\/pocker\/\.sources\/[0-9a-f]{16}\.json$/),
          ]);
          const facts = gatherFacts(fake, driver);
          for (const d of first.load.desired) {
            const a = observe(fake, dirs, driver).containers.get(d.spec.name)!;
            if (a.initAlive) expect(a.limits).toEqual(desiredLimits(d.spec.resources, facts));
          }
          expect(observe(fake, dirs, driver).containers.size).toBe(Object.keys(set).length);
          for (const name of event.kill) {
            const a = observe(fake, dirs, driver).containers.get(name);
            if (a?.initAlive) fake.exit(a.pids!.initPid, 0, event.exitCode);
          }
        }
        writeSet(dir, {});
        const down = await reconcileOnce({ dir, dirs, host: fake, driver, allowEmpty: true, monitorBinary: '/monitor' });
        expect(down.ok).toBe(true);
        expect(fake.liveInits()).toEqual([]);
        expect(driver.list(fake)).toEqual([]);
        expect((fake.readDir('/run/pocker') ?? []).filter((n) => !n.startsWith('.'))).toEqual([]);
        expect(fake.readDir('/run/pocker/.sources')).toHaveLength(1);
      }),
      { numRuns: 60 },
    );
  });

  it('applies any sequence of resource changes in place, keeping the process, in an order the kernel accepts', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(resourcesArb, { minLength: 2, maxLength: 6 }), async (seqOfResources) => {
        const fake = new FakeHost(version);
        const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
        const dir = mkdtempSync(join(root, `u${seq++}-`));
        const driver = detectDriver(fake, dirs.cgroupParent);
        let pid: number | undefined;
        for (const resources of seqOfResources) {
          writeSet(dir, { a: { command: ['sleep', '3600'], restart: undefined, env: undefined, resources } });
          const r = await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' });
          expect(r.ok, JSON.stringify(r.results)).toBe(true);
          expect(r.plan.actions.map((a) => a.kind)).toEqual([pid === undefined ? 'create' : expect.stringMatching(/^(update|none)$/)]);
          const a = observe(fake, dirs, driver).containers.get('a')!;
          pid ??= a.pids!.initPid;
          expect(a.pids!.initPid).toBe(pid);
          expect(a.limits).toEqual(desiredLimits(r.load.desired[0]!.spec.resources, gatherFacts(fake, driver)));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('plans deterministically: the same inputs give the same plan', () => {
    fc.assert(
      fc.property(setArb, (set) => {
        const fake = new FakeHost(version);
        const dir = mkdtempSync(join(root, `p${seq++}-`));
        writeSet(dir, set);
        const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
        const driver = detectDriver(fake, dirs.cgroupParent);
        const input = () => ({
          source: dir,
          load: loadSpecDir(dir),
          actual: observe(fake, dirs, driver),
          facts: gatherFacts(fake, driver),
          allowEmpty: false,
          now: 1e12,
          backoff: DEFAULT_BACKOFF,
        });
        expect(JSON.stringify(plan(input()))).toBe(JSON.stringify(plan(input())));
      }),
      { numRuns: 50 },
    );
  });
});

describe('the spec cache and dry runs', () => {
  it('a dry run reuses the parses a pass left, and writes none', async () => {
    const fake = new FakeHost('v2');
    const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
    const dir = mkdtempSync(join(root, `cache${seq++}-`));
    const driver = detectDriver(fake, dirs.cgroupParent);
    writeSet(dir, { web: { command: ['sleep', '1'], restart: undefined, env: undefined, resources: {} } });
    // Past the settling time of the file's change: the pass keeps its parse.
    await new Promise((r) => setTimeout(r, 80));
    expect((await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' })).ok).toBe(true);
    expect(cachedParses(fake)).toBe(1);
    // Marks the cached parse so that only a dry run that reads the cache can see it.
    const cacheFile = `/run/pocker/${fake.readDir('/run/pocker')!.find((n) => n.startsWith('.spec-cache-'))!}`;
    fake.writeFileAtomic(cacheFile, fake.readFile(cacheFile)!.replace('"sleep","1"', '"sleep","2"'));
    const { host, calls, bookkeeping } = countingHost(fake);
    const dry = await reconcileOnce({ dir, dirs, host, driver, monitorBinary: '/monitor', dryRun: true });
    expect(dry.load.desired.map((d) => d.spec.command)).toEqual([['sleep', '2']]);
    expect(calls).toEqual([]);
    expect(bookkeeping).toEqual([]);
  });

  it('names the cache without sha256, and a pass that saves it removes the file under the name earlier builds gave it', async () => {
    const fake = new FakeHost('v2');
    const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
    const dir = mkdtempSync(join(root, `legacy${seq++}-`));
    const driver = detectDriver(fake, dirs.cgroupParent);
    const legacy = `/run/pocker/.spec-cache-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}.json`;
    fake.mkdir('/run/pocker');
    fake.writeFileAtomic(legacy, '{"code":"older build","entries":{}}');
    const other = '/run/pocker/.spec-cache-0123456789abcdef.json';
    fake.writeFileAtomic(other, '{"code":"another dir","entries":{}}');
    writeSet(dir, { web: { command: ['sleep', '1'], restart: undefined, env: undefined, resources: {} } });
    await new Promise((r) => setTimeout(r, 80));
    expect((await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' })).ok).toBe(true);
    expect(fake.kind(legacy)).toBe(null);
    expect(fake.kind(other)).toBe('file');
    expect(fake.kind(specCachePath(dirs.stateDir, dir))).toBe('file');
    expect(specCachePath(dirs.stateDir, dir)).not.toBe(legacy);
    const saved = JSON.parse(fake.readFile(specCachePath(dirs.stateDir, dir))!) as { entries: object };
    expect(Object.keys(saved.entries)).toHaveLength(1);
  });
});

describe('failure isolation against a fake kernel', () => {
  it('a container that fails to start leaves nothing and does not stop the others', async () => {
    const fake = new FakeHost('v1');
    const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
    const dir = mkdtempSync(join(root, `f${seq++}-`));
    writeSet(dir, {
      a: { command: ['sleep', '1'], restart: undefined, env: undefined, resources: {} },
      b: { command: ['sleep', '1'], restart: undefined, env: undefined, resources: {} },
    });
    const driver = detectDriver(fake, dirs.cgroupParent);
    fake.failStarts = { count: 1, message: 'exec sleep: No such file or directory' };
    const r = await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' });
    expect(r.results.map((x) => [x.name, x.ok])).toEqual([
      ['a', false],
      ['b', true],
    ]);
    expect(r.results[0]!.error).toBe('exec sleep: No such file or directory');
    expect([...observe(fake, dirs, driver).containers.keys()]).toEqual(['b']);
    expect(driver.list(fake)).toEqual(['b']);
    expect(fake.readDir('/var/lib/pocker/containers')).toEqual(['b']);
    const retry = await reconcileOnce({ dir, dirs, host: fake, driver, monitorBinary: '/monitor' });
    expect(retry.plan.actions.map((a) => [a.name, a.kind])).toEqual([
      ['a', 'create'],
      ['b', 'none'],
    ]);
    expect(retry.ok).toBe(true);
  });
});
