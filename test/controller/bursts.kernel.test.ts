import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController, type WatchOptions } from '../../reconciler/controller/watch.js';
import type { Logger } from '../../reconciler/log/logger.js';
import { readSourceStatus } from '../../reconciler/controller/sourceStatus.js';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { sleep, until } from '../helpers/wait.js';

/** Containers per burst: 200 here (the suite's variant); `npm run test:bursts` runs 1000. */
const N = Number(process.env.POCKER_BURST_SIZE ?? 200);
const name = (i: number): string => `s${String(i).padStart(4, '0')}`;

describeKernel(`bursts of ${N} spec files converge from events alone (resync 1h)`, () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let ctl: WatchController | null = null;
  let warnings: string[];
  beforeEach(() => {
    inst = current();
    warnings = [];
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = null;
  });
  const log: Logger = { debug() {}, info() {}, warn: (_o, m) => warnings.push(m ?? ''), error: (_o, m) => warnings.push(m ?? '') };
  const start = async (extra: Partial<WatchOptions> = {}): Promise<WatchController> => {
    ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      removalDelayMs: 50,
      resyncMs: 3_600_000,
      log,
      healthChecks: false,
      ...extra,
    });
    await ctl.start();
    return ctl;
  };
  const spec = (i: number, extra: Record<string, unknown> = {}): string =>
    stringify(inst.spec(name(i), { resources: { memory: '16Mi' }, stopGracePeriod: '1s', ...extra }));
  const runningPids = (): Map<string, number> =>
    new Map([...inst.actual().containers].filter(([, a]) => a.initAlive).map(([n, a]) => [n, a.pids!.initPid]));
  const writeAll = (text: (i: number) => string): void => {
    for (let i = 0; i < N; i++) writeFileSync(join(inst.specDir, `${name(i)}.yaml`), text(i));
  };
  /** Removes every spec file over about 400 ms, a burst longer than the removal delay (a big checkout, a slow disk). */
  const removeAllSlowly = async (): Promise<void> => {
    for (let i = 0; i < N; i++) {
      rmSync(join(inst.specDir, `${name(i)}.yaml`));
      if (i % Math.ceil(N / 40) === 0) await sleep(10);
    }
  };

  it(`starts ${N} specs written in place (no rename) within 15 s, and removes all of them within 15 s with --allow-empty`, async () => {
    await start({ allowEmpty: true });
    const t0 = Date.now();
    writeAll((i) => spec(i));
    await until(() => runningPids().size === N, `${N} containers running`, 15_000, 50);
    console.log(`${N} in-place writes: all running after ${Date.now() - t0} ms`);
    const t1 = Date.now();
    await removeAllSlowly();
    await until(() => inst.actual().containers.size === 0, 'every container removed', 15_000, 50);
    console.log(`${N} removals: all gone after ${Date.now() - t1} ms`);
  }, 60_000);

  it(`keeps all ${N} when every file goes without --allow-empty, says so in the log and in pocker status, and removes none after later reloads`, async () => {
    await start();
    writeAll((i) => spec(i));
    await until(() => runningPids().size === N, `${N} containers running`, 15_000, 50);
    const before = runningPids();
    await removeAllSlowly();
    await sleep(2000);
    expect(runningPids()).toEqual(before);
    expect(warnings.filter((w) => /has no spec files: \d+ container\(s\) kept; pass --allow-empty/.test(w)).length).toBeGreaterThan(0);
    expect(warnings.join('\n')).toContain(`has no spec files: ${N} container(s) kept`);
    const status = readSourceStatus(inst.host, inst.dirs.stateDir, inst.specDir);
    expect(status?.removalsHeld).toMatchObject({ count: N, reason: expect.stringMatching(/no spec files.*--allow-empty/) });
    const cli = pocker(inst, 'status');
    expect(cli.stdout).toMatch(new RegExp(`removals held: ${N} container\\(s\\) kept: .*no spec files`));
    // One file back: the dir is not empty any more, so what it does not name goes, all at once.
    writeFileSync(join(inst.specDir, `${name(0)}.yaml`), spec(0));
    await until(() => inst.actual().containers.size === 1, 'all but one removed', 15_000, 50);
    expect(runningPids().get(name(0))).toBe(before.get(name(0)));
    expect(readSourceStatus(inst.host, inst.dirs.stateDir, inst.specDir)?.removalsHeld).toBeUndefined();
  }, 90_000);

  it(`applies ${N} memory edits written at once in place: every pid kept`, async () => {
    await start();
    writeAll((i) => spec(i));
    await until(() => runningPids().size === N, `${N} containers running`, 15_000, 50);
    const before = runningPids();
    const t0 = Date.now();
    writeAll((i) => spec(i, { resources: { memory: '24Mi' } }));
    await until(
      () => [...inst.actual().containers.values()].every((a) => a.limits?.memory === 24 * 2 ** 20),
      'every memory limit 24Mi',
      15_000,
      50,
    );
    console.log(`${N} in-place edits: all applied after ${Date.now() - t0} ms`);
    expect(runningPids()).toEqual(before);
  }, 60_000);

  it('refuses every removal of a decision over --max-deletions, loudly: all or nothing', async () => {
    await start({ maxDeletions: 5 });
    const n = Math.min(N, 20);
    for (let i = 0; i < n; i++) writeFileSync(join(inst.specDir, `${name(i)}.yaml`), spec(i));
    await until(() => runningPids().size === n, `${n} containers running`, 15_000, 50);
    for (let i = 1; i < n; i++) rmSync(join(inst.specDir, `${name(i)}.yaml`));
    await sleep(1500);
    expect(runningPids().size).toBe(n);
    expect(warnings.join('\n')).toContain(`${n - 1} containers would be removed at once, more than --max-deletions 5: removing none`);
    expect(readSourceStatus(inst.host, inst.dirs.stateDir, inst.specDir)?.removalsHeld).toMatchObject({ count: n - 1 });
  }, 60_000);

  it('follows a git checkout that moves, edits and deletes many files: exactly the containers whose spec changed are touched', async () => {
    const git = (...args: string[]) => {
      const r = spawnSync('git', ['-C', inst.specDir, '-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    git('init', '-q', '-b', 'main');
    writeAll((i) => spec(i));
    git('add', '-A');
    git('commit', '-qm', 'A');
    // Commit B: a sixth of the files moved (same spec), a sixth with a new memory limit (in
    // place), a twelfth with a new command (recreate), a sixth deleted, and new files.
    const k = Math.floor(N / 6);
    const moved = [...Array(k).keys()];
    const edited = moved.map((i) => i + k);
    const recreated = [...Array(Math.floor(k / 2)).keys()].map((i) => i + 2 * k);
    const deleted = moved.map((i) => i + 3 * k);
    const added = [...Array(Math.floor(k / 2)).keys()].map((i) => N + i);
    git('checkout', '-q', '-b', 'B');
    for (const i of moved) git('mv', `${name(i)}.yaml`, `moved-${name(i)}.yaml`);
    for (const i of edited) writeFileSync(join(inst.specDir, `${name(i)}.yaml`), spec(i, { resources: { memory: '24Mi' } }));
    for (const i of recreated) writeFileSync(join(inst.specDir, `${name(i)}.yaml`), spec(i, { command: ['sleep', '3601'] }));
    for (const i of deleted) rmSync(join(inst.specDir, `${name(i)}.yaml`));
    for (const i of added) writeFileSync(join(inst.specDir, `${name(i)}.yaml`), spec(i));
    git('add', '-A');
    git('commit', '-qm', 'B');
    git('checkout', '-q', 'main');

    await start();
    await until(() => runningPids().size === N, `${N} containers running`, 15_000, 50);
    const before = runningPids();
    const t0 = Date.now();
    git('checkout', '-q', 'B');
    const want = N - deleted.length + added.length;
    await until(
      () => {
        const now = runningPids();
        return (
          now.size === want && added.every((i) => now.has(name(i))) && recreated.every((i) => now.get(name(i)) !== before.get(name(i)))
        );
      },
      'the checkout converged',
      20_000,
      50,
    );
    await ctl!.idle();
    await sleep(300);
    console.log(
      `git checkout of ${moved.length + edited.length + recreated.length + deleted.length + added.length} changed files: converged after ${Date.now() - t0} ms`,
    );
    const after = runningPids();
    const touched = [...before]
      .filter(([n, pid]) => after.get(n) !== pid)
      .map(([n]) => n)
      .sort();
    expect(touched).toEqual([...recreated, ...deleted].map(name).sort());
    for (const i of edited) expect(inst.container(name(i)).limits?.memory, name(i)).toBe(24 * 2 ** 20);
    for (const i of moved) expect(inst.container(name(i)).record?.source.file).toBe(`moved-${name(i)}.yaml`);
    expect(ctl!.counts.remove).toBe(deleted.length);
    expect(ctl!.counts.recreate).toBe(recreated.length);
    expect(ctl!.counts.create).toBe(N + added.length);
    // Later reloads plan the whole set: nothing more to do.
    writeFileSync(join(inst.specDir, 'later.yaml'), spec(N + 500));
    await until(() => runningPids().has(name(N + 500)), 'a later spec started');
    expect(readFileSync(join(inst.specDir, '.git', 'HEAD'), 'utf8')).toContain('refs/heads/B');
  }, 120_000);
});
