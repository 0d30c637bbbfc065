import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, rmdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach } from 'vitest';
import { downSource, reconcileOnce, type OnceOptions, type PassResult } from '../../reconciler/controller/once.js';
import { observe, observeContainer } from '../../reconciler/observe/observe.js';
import type { ActualContainer, ActualSet } from '../../reconciler/observe/types.js';
import { MONITORS_CGROUP, type CgroupDriver } from '../../reconciler/cgroups/driver.js';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import type { Host } from '../../reconciler/host/host.js';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import type { InstanceDirs } from '../../reconciler/state/layout.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { wrongDriverForControl } from './wrongDrivers.js';

/**
 * Processes whose cmdline or cgroup names this instance (leaked monitors, inits, workloads).
 * A zombie counts only when its parent is one of them: an exited monitor waiting for the host's
 * init to reap it holds nothing of the instance.
 */
export function instanceProcesses(dirs: InstanceDirs): number[] {
  const found = new Map<number, { zombie: boolean; ppid: number }>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!pid || pid === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (cmdline.includes(dirs.stateDir) || cgroup.includes(`/${dirs.cgroupParent}/`) || cgroup.endsWith(`/${dirs.cgroupParent}\n`)) {
        found.set(pid, { zombie: fields[0] === 'Z', ppid: Number(fields[1]) });
      }
    } catch {
      /* exited meanwhile */
    }
  }
  return [...found].filter(([, p]) => !p.zombie || found.has(p.ppid)).map(([pid]) => pid);
}

/** Every cgroup directory under the instance's parent, in every hierarchy (deepest first). */
export function instanceCgroups(parent: string): string[] {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .filter((l) => / - cgroup2? /.test(l))
    .map((l) => l.split(' ')[4]!);
  const found: string[] = [];
  const walk = (d: string): void => {
    if (!existsSync(d)) return;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    found.push(d);
  };
  for (const m of new Set(mounts)) walk(join(m, parent));
  return found;
}

/**
 * Registers beforeEach/afterEach hooks that give every test of the file its own TestInstance
 * (destroyed, with a leak check, after each test). Returns a getter for the current one.
 */
export function useTestInstance(): () => TestInstance {
  let inst: TestInstance | undefined;
  beforeEach(() => {
    inst = new TestInstance();
  });
  afterEach(async () => {
    await inst?.destroy();
    inst = undefined;
  });
  return () => inst!;
}

/**
 * One isolated pocker instance for a test: its own spec dir, state dir, data dir and cgroup
 * parent. destroy() removes every container through pocker, then checks that nothing is left
 * (processes, cgroups, mounts, records, writable layers), cleans up by force if something is,
 * and fails in that case.
 */
export class TestInstance {
  readonly root: string;
  readonly specDir: string;
  readonly dirs: InstanceDirs;
  /** The instance's secrets dir (root only, empty at first). */
  readonly secretsDir: string;
  readonly layer: string;
  readonly host: Host = new NodeHost();
  readonly driver: CgroupDriver;

  constructor() {
    this.root = mkdtempSync(join(tmpdir(), 'pocker-test-'));
    this.specDir = join(this.root, 'specs');
    mkdirSync(this.specDir);
    const id = this.root.slice(this.root.lastIndexOf('-') + 1);
    this.dirs = { stateDir: join(this.root, 'state'), dataDir: join(this.root, 'data'), cgroupParent: `pocker-test-${id}` };
    this.secretsDir = join(this.root, 'secrets');
    mkdirSync(this.secretsDir, { mode: 0o700 });
    this.layer = process.env.POCKER_TEST_LAYER ?? '/nonexistent';
    this.driver = wrongDriverForControl(this.dirs.cgroupParent) ?? detectDriver(this.host, this.dirs.cgroupParent);
  }

  /** A minimal valid spec on the busybox layer, merged with extra fields. */
  spec(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return { name, image: { layers: [this.layer] }, command: ['sleep', '3600'], stopGracePeriod: '2s', ...extra };
  }

  /** Writes a spec file (an object is written as YAML). */
  writeSpec(file: string, content: Record<string, unknown> | string): string {
    const path = join(this.specDir, file);
    writeFileSync(path, typeof content === 'string' ? content : stringify(content));
    return path;
  }

  removeSpec(file: string): void {
    rmSync(join(this.specDir, file), { force: true });
  }

  reconcile(extra: Partial<OnceOptions> = {}): Promise<PassResult> {
    return reconcileOnce({
      dir: this.specDir,
      dirs: this.dirs,
      secretsDir: this.secretsDir,
      host: this.host,
      driver: this.driver,
      ...extra,
    });
  }

  actual(): ActualSet {
    return observe(this.host, this.dirs, this.driver);
  }

  container(name: string): ActualContainer {
    const a = observeContainer(this.host, this.dirs, this.driver, name);
    if (!a) throw new Error(`no container ${name}`);
    return a;
  }

  /** The container, or null while it does not exist yet (conditions polled before a controller has made it). */
  find(name: string): ActualContainer | null {
    return observeContainer(this.host, this.dirs, this.driver, name);
  }

  /** Host pid of the container's init. */
  pid(name: string): number {
    const a = this.container(name);
    if (!a.initAlive) throw new Error(`container ${name} is not running`);
    return a.pids!.initPid;
  }

  /** The init pid when the container is running, from one observation; null otherwise (no race between "is it running" and "which pid"). */
  runningPid(name: string): number | null {
    try {
      const a = this.container(name);
      return a.initAlive ? a.pids!.initPid : null;
    } catch {
      return null;
    }
  }

  /** Whether the container runs now with an init pid other than `oldPid` (a recreate has completed). */
  runsAnotherPid(name: string, oldPid: number): boolean {
    const now = this.runningPid(name);
    return now !== null && now !== oldPid;
  }

  /** The container's stdout/stderr text (log records without timestamps). */
  log(name: string): string {
    const path = containerPaths(this.dirs, name).log;
    if (!existsSync(path)) return '';
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => {
        const m = /^\S+ (stdout|stderr) ([FP]) (.*)$/.exec(l);
        return m ? `${m[3]}${m[2] === 'F' ? '\n' : ''}` : '';
      })
      .join('');
  }

  /** Waits until the container's log matches re. */
  async waitForLog(name: string, re: RegExp, timeoutMs = 10_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const text = this.log(name);
      if (re.test(text)) return text;
      if (Date.now() > deadline) throw new Error(`log of ${name} did not match ${re} within ${timeoutMs} ms; log:\n${text}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Reads a file of the container's cgroup in the hierarchy of controller (v1) or the single v2 tree. */
  cgroupFile(name: string, controller: string, file: string): string {
    const dirs = this.driver.dirs(name);
    const dir =
      this.driver.version === 'v2'
        ? dirs[0]!
        : (dirs.find((d) => d.includes(`/${controller}/`) || d.includes(`/${controller},`)) ?? dirs[0]!);
    return readFileSync(join(dir, file), 'utf8').trim();
  }

  /**
   * What is left of this instance on the host, by kind. Without includeParent, the instance-wide
   * cgroups (the parent and its monitors cgroup, which stay while the instance is in use) are not counted.
   */
  leftovers(includeParent = false): string[] {
    const left: string[] = [];
    const procs = instanceProcesses(this.dirs);
    if (procs.length) left.push(`processes ${procs.join(' ')}`);
    const shared = new Set(this.driver.dirs(MONITORS_CGROUP).flatMap((d) => [d, dirname(d)]));
    const cgroups = instanceCgroups(this.dirs.cgroupParent).filter((d) => includeParent || !shared.has(d));
    if (cgroups.length) left.push(`cgroups ${cgroups.join(' ')}`);
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .filter((l) => l.includes(this.root));
    if (mounts.length) left.push(`mounts ${mounts.join(' | ')}`);
    for (const [what, dir] of [
      ['records', this.dirs.stateDir],
      ['writable layers', join(this.dirs.dataDir, 'containers')],
    ] as const) {
      const entries = existsSync(dir) ? readdirSync(dir).filter((e) => !e.startsWith('.')) : [];
      if (entries.length) left.push(`${what} ${entries.join(' ')}`);
    }
    return left;
  }

  /** Removes everything through pocker, then fails if anything is left (after removing it by force). */
  async destroy(): Promise<void> {
    let downError = '';
    try {
      const r = await downSource({ dir: this.specDir, dirs: this.dirs, host: this.host, driver: this.driver });
      if (!r.ok)
        downError = r.results
          .filter((x) => !x.ok)
          .map((x) => `${x.name}: ${x.error}`)
          .join('; ');
      for (const a of observe(this.host, this.dirs, this.driver).containers.values()) {
        if (a.record && a.record.source.dir !== this.specDir)
          await downSource({ dir: a.record.source.dir, dirs: this.dirs, host: this.host, driver: this.driver });
      }
      this.driver.removeParentIfEmpty(this.host);
    } catch (e) {
      downError = (e as Error).message;
    }
    const left = this.leftovers(true);
    if (left.length) this.forceClean();
    rmSync(this.root, { recursive: true, force: true });
    if (left.length || downError) throw new Error(`test instance not clean: ${[downError, ...left].filter(Boolean).join('; ')}`);
  }

  private forceClean(): void {
    const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
      .split('\n')
      .map((l) => l.split(' ')[4])
      .filter((m): m is string => !!m && m.startsWith(`${this.root}/`));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
    for (const pid of instanceProcesses(this.dirs)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    const deadline = Date.now() + 5000;
    for (const d of instanceCgroups(this.dirs.cgroupParent)) {
      for (;;) {
        try {
          if (existsSync(d)) rmdirSync(d);
          break;
        } catch {
          if (Date.now() > deadline) break;
        }
      }
    }
  }
}
