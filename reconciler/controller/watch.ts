import { lstatSync, mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { observe, observeContainer } from '../observe/observe.js';
import type { ActualContainer } from '../observe/types.js';
import { plan } from '../plan/plan.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import type { CgroupDriver } from '../runtime/cgroups/driver.js';
import { detectDriver } from '../runtime/cgroups/detect.js';
import type { RuntimeContext } from '../runtime/container.js';
import type { LogPolicy } from '../runtime/monitorConfig.js';
import { describeError } from '../runtime/errors.js';
import { gatherFacts } from '../runtime/facts.js';
import type { Host } from '../runtime/host.js';
import { NodeHost } from '../runtime/nodeHost.js';
import { monitorBinary } from '../native.js';
import { SpecCache } from '../spec/cache.js';
import type { NetworkOptions } from '../network/conflist.js';
import { imageResolver } from '../image/resolve.js';
import { imageStorePaths } from '../image/store.js';
import { loadSpecDir, type DirLoad, type Trust } from '../spec/load.js';
import { formatSpecError, type RestartBackoff } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { collectLeftovers, reportStrangers } from './gc.js';
import { prepareInstance } from '../instance/privateDirs.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../instance/config.js';
import { HealthChecker } from './health.js';
import { reconcileOne, type ContainerOutcome, type PassState } from './reconcileOne.js';
import { gitRevision } from './revision.js';
import { recordSourceStatus } from './sourceStatus.js';

/** Delay of the reload that follows a burst of events (longer than chokidar's 50 ms change throttle). */
const TRAILING_RELOAD_MS = 75;

/** Options of the watching controller. */
export interface WatchOptions {
  dir: string;
  dirs: InstanceDirs;
  /** Full resync period (catches anything events missed). Default 30 s. */
  resyncMs?: number;
  /** How long a container whose spec vanished waits before it is removed. Default 500 ms. */
  removalDelayMs?: number;
  allowEmpty?: boolean;
  /** Refuse removals while more than this many containers are waiting to be removed. */
  maxDeletions?: number;
  backoff?: RestartBackoff;
  host?: Host;
  driver?: CgroupDriver;
  log?: Logger;
  monitorBinary?: string;
  /** Run health checks (default true). */
  healthChecks?: boolean;
  /** Container log rotation (default 10 MiB x 5). */
  logPolicy?: LogPolicy;
  /** CNI dirs and default network (bridge mode). */
  network?: NetworkOptions;
  /** Owners whose spec files are trusted (default: not checked; the CLI passes root and --trusted-owner). */
  trust?: Trust;
  /** Longest waits for CNI plugins, monitors and locks (default DEFAULT_TIMEOUTS). */
  timeouts?: Timeouts;
}

/** Per-container work: one reconcile at a time, re-run while something asked for it meanwhile. */
interface Worker {
  dirty: boolean;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  timerAt: number;
}

/** What one resync did: containers observed, how many were handed to their workers, how long it took. */
export interface ResyncStats {
  containers: number;
  kicked: number;
  durationMs: number;
}

/** Counts of what the controller did, by action kind (tests and benchmarks read them). */
export type ActionCounts = Record<'create' | 'update' | 'recreate' | 'restart' | 'stop' | 'remove', number>;

/**
 * The watching controller (`pocker reconcile`): reads the spec dir as a whole whenever it changes
 * (chokidar) and at every resync, and keeps each container converged by its own serialized
 * worker, so a slow container never delays another. Creates and updates apply at once; a
 * container whose spec vanished is removed only after a quiet period, so a spec moved between
 * files or a checkout in progress is never removed and re-created. Exits of the workload are seen
 * at once (pidfd of the monitor) and restarts follow the restart policy with backoff.
 */
export class WatchController {
  private readonly host: Host;
  private readonly driver: CgroupDriver;
  private readonly log: Logger;
  private readonly resyncMs: number;
  private readonly removalDelayMs: number;
  private readonly backoff: RestartBackoff;
  private load: DirLoad;
  private ps!: PassState;
  private parentReady = false;
  private readonly workers = new Map<string, Worker>();
  private readonly removalSince = new Map<string, number>();
  private readonly exitWatches = new Map<string, { pid: number; stop: () => void }>();
  private readonly owned = new Set<string>();
  /** Failed attempts in a row per container: the next retry waits 100 ms doubling, up to 5 min. */
  private readonly failures = new Map<string, number>();
  private lastErrors = '';
  private lastPassError = '';
  /** Strangers already reported (each once). */
  private readonly strangersSeen = new Set<string>();
  private watchers: FSWatcher[] = [];
  private resyncTimer: NodeJS.Timeout | null = null;
  /** The image store's references (see watchImageRefs). */
  private refsWatcher: FSWatcher | null = null;
  private reloadQueued = false;
  private trailing: NodeJS.Timeout | null = null;
  private stopping = false;
  private readonly health: HealthChecker | null;
  private idleWaiters: Array<() => void> = [];
  /** Parses of unchanged spec files are reused across reloads and resyncs. */
  private readonly specCache = new SpecCache();
  /** What was done so far, by kind. */
  readonly counts: ActionCounts = { create: 0, update: 0, recreate: 0, restart: 0, stop: 0, remove: 0 };

  constructor(private readonly opts: WatchOptions) {
    this.host = opts.host ?? new NodeHost();
    this.driver = opts.driver ?? detectDriver(this.host, opts.dirs.cgroupParent);
    this.log = opts.log ?? silentLogger;
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.removalDelayMs = opts.removalDelayMs ?? 500;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.load = { dir: opts.dir, status: 'missing', files: [], desired: [], errors: [], failedFiles: new Set() };
    this.health =
      opts.healthChecks === false
        ? null
        : new HealthChecker({ host: this.host, dirs: opts.dirs, driver: this.driver, monitorBinary: opts.monitorBinary ?? monitorBinary(), log: this.log, onUnhealthy: (n) => this.kick(n) });
  }

  /** Loads, observes, starts every worker, and begins watching. Resolves once watching. */
  async start(): Promise<void> {
    prepareInstance(this.host, this.opts.dirs, this.log);
    this.rebuildPass(this.readDir());
    this.resync();
    await this.watchDir();
    this.refsWatcher = await this.watchImageRefs();
    this.resyncTimer = setInterval(() => void this.resync(), this.resyncMs);
    this.log.info({ dir: this.opts.dir, resyncMs: this.resyncMs, removalDelayMs: this.removalDelayMs }, `watching ${this.opts.dir}`);
  }

  /** Stops watching and waits for every container's current step to finish (containers keep running). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.trailing) clearTimeout(this.trailing);
    const closing = Promise.all([...this.watchers, ...(this.refsWatcher ? [this.refsWatcher] : [])].map((w) => w.close()));
    const closed = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref())]);
    if (!closed) this.log.warn({ dir: this.opts.dir }, 'the file watcher did not close within 2 s; stopping anyway');
    this.watchers = [];
    this.refsWatcher = null;
    for (const w of this.workers.values()) if (w.timer) clearTimeout(w.timer);
    await Promise.all([...this.workers.values()].map((w) => w.running));
    // Only now: a step that was finishing may have set up a watch.
    for (const e of this.exitWatches.values()) e.stop();
    this.exitWatches.clear();
    await this.health?.stopAll();
    this.log.debug({ dir: this.opts.dir }, 'stopped');
  }

  /** Resolves when no worker is running or due within the next few milliseconds (tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private isIdle(): boolean {
    return !this.reloadQueued && !this.trailing && [...this.workers.values()].every((w) => !w.running && !w.dirty);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private readDir(): DirLoad {
    const load = loadSpecDir(this.opts.dir, this.opts.trust, this.specCache, imageResolver(this.opts.dirs.dataDir));
    const errors = load.errors.map(formatSpecError).join('\n');
    if (errors !== this.lastErrors) {
      for (const e of load.errors) this.log.error({ file: e.file, line: e.line, col: e.col }, formatSpecError(e));
      this.lastErrors = errors;
    }
    if (load.status !== 'ok') this.log.warn({ dir: this.opts.dir, status: load.status }, `spec dir unusable (${load.statusError ?? load.status}): nothing is removed`);
    return load;
  }

  private rebuildPass(load: DirLoad): void {
    const revision = gitRevision(this.opts.dir);
    const facts = gatherFacts(this.host, this.driver, load.desired);
    const ctx: RuntimeContext = {
      host: this.host,
      driver: this.driver,
      dirs: this.opts.dirs,
      facts,
      monitorBinary: this.opts.monitorBinary ?? monitorBinary(),
      backoff: this.backoff,
      timeouts: this.opts.timeouts ?? DEFAULT_TIMEOUTS,
      warn: (container, message) => this.log.warn({ container }, `${container}: ${message}`),
      ...(this.opts.logPolicy && { logPolicy: this.opts.logPolicy }),
      ...(this.opts.network && { network: this.opts.network }),
      ...(revision && { revision }),
    };
    this.load = load;
    this.ps = {
      source: this.opts.dir,
      load,
      ctx,
      allowEmpty: !!this.opts.allowEmpty,
      backoff: this.backoff,
      log: this.log,
      mayRemove: (name) => this.mayRemove(name),
      ensureParent: () => {
        if (!this.parentReady) this.driver.ensureParent(this.host);
        this.parentReady = true;
      },
    };
    if (this.host instanceof NodeHost) {
      try {
        recordSourceStatus(this.opts.dirs.stateDir, load, revision, load.errors.length === 0);
      } catch (e) {
        this.passFailed('recording the status of the spec dir', e);
      }
    }
  }

  /** A failure of a whole reload or resync: logged (once per distinct message in a row), the controller goes on. */
  private passFailed(what: string, e: unknown): void {
    const message = `${what}: ${describeError(e)}`;
    if (message === this.lastPassError) return;
    this.lastPassError = message;
    this.log.error({ dir: this.opts.dir, error: describeError(e) }, `${message}; the controller keeps going and tries again at the next change or resync`);
  }

  /** Key of what a spec asks for: a change of it (or of its source) means "look at this container". */
  private static specKey(load: DirLoad): Map<string, string> {
    return new Map(load.desired.map((d) => [d.spec.name, `${d.hash}|${d.source.file}|${d.source.doc}`]));
  }

  /** Re-reads the whole dir and wakes the workers of containers whose spec changed, appeared or vanished. */
  private reload(): void {
    this.reloadQueued = false;
    if (this.stopping) return;
    try {
      this.reloadNow();
    } catch (e) {
      this.passFailed('reloading the spec dir', e);
    }
    this.notifyIdle();
  }

  private reloadNow(): void {
    const before = WatchController.specKey(this.load);
    const failedBefore = this.load.failedFiles;
    this.rebuildPass(this.readDir());
    const after = WatchController.specKey(this.load);
    for (const [name, key] of after) if (before.get(name) !== key) this.kick(name);
    for (const name of before.keys()) if (!after.has(name)) this.kick(name);
    if (failedBefore.size || this.load.failedFiles.size) for (const name of this.owned) if (!after.has(name)) this.kick(name);
  }

  /**
   * Reloads at once, and once more shortly after the last event: chokidar drops a change event
   * that follows another on the same file within 50 ms (and re-reads a dir at most once a
   * second), so the trailing reload is what sees the final state of a burst of edits.
   */
  private scheduleReload(): void {
    if (this.stopping) return;
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = setTimeout(() => {
      this.trailing = null;
      this.reload();
    }, TRAILING_RELOAD_MS);
    if (this.reloadQueued) return;
    this.reloadQueued = true;
    setImmediate(() => this.reload());
  }

  /**
   * Full resync: host facts, the whole dir, one observation of every container, one pure plan
   * over them. Only containers with something to do (or with a worker already busy) are handed
   * to their workers; for the rest the exit watch and health check are made sure of from the same
   * observation, so a no-op resync costs one observation and one plan, not a lock and a re-read
   * per container.
   */
  resync(): ResyncStats | null {
    if (this.stopping) return null;
    try {
      return this.resyncNow();
    } catch (e) {
      this.passFailed('resync', e);
      return null;
    }
  }

  private resyncNow(): ResyncStats {
    const t0 = performance.now();
    this.rebuildPass(this.readDir());
    const actual = observe(this.host, this.opts.dirs, this.driver);
    reportStrangers(actual.strangers, this.log, this.strangersSeen);
    for (const a of actual.containers.values()) if (a.record?.source.dir === this.opts.dir) this.owned.add(a.name);
    const p = plan({ source: this.ps.source, load: this.load, actual, facts: this.ps.ctx.facts, allowEmpty: this.ps.allowEmpty, now: Date.now(), backoff: this.backoff });
    const byName = new Map(p.actions.map((a) => [a.name, a]));
    const desired = new Set(this.load.desired.map((d) => d.spec.name));
    let kicked = 0;
    for (const name of new Set([...this.owned, ...desired])) {
      const action = byName.get(name);
      const w = this.workers.get(name);
      if (w?.timer && !w.running) continue;
      if (w?.running || !action || action.kind !== 'none' || action.retryAt !== undefined) {
        this.kick(name);
        kicked++;
        continue;
      }
      if (desired.has(name)) this.removalSince.delete(name);
      this.track(name, actual.containers.get(name));
    }
    if (actual.leftovers.length) void collectLeftovers(this.host, this.opts.dirs, this.driver, actual.leftovers, this.log, this.opts.timeouts);
    const stats = { containers: actual.containers.size, kicked, durationMs: Math.round((performance.now() - t0) * 10) / 10 };
    this.log.debug(stats, `resync: ${stats.containers} containers observed, ${kicked} handed to their workers, ${stats.durationMs} ms`);
    return stats;
  }

  /**
   * Watches the image store's references: an image imported under a reference a spec uses (or
   * removed) reloads the specs at once, so its containers are recreated without waiting for the
   * next resync. The store's dir is made when missing (it is the instance's own).
   */
  private async watchImageRefs(): Promise<FSWatcher> {
    const { watch } = await import('chokidar');
    const store = imageStorePaths(this.opts.dirs.dataDir);
    mkdirSync(store.root, { recursive: true, mode: 0o700 });
    const w = watch(store.root, { depth: 0, ignoreInitial: true, persistent: true, followSymlinks: false, atomic: false, ignorePermissionErrors: true });
    w.on('all', (_event, path) => {
      if (basename(path) === basename(store.refs)) this.scheduleReload();
    });
    w.on('error', (e) => this.log.warn({ dir: store.root, error: describeError(e) }, `watching ${store.root}: ${describeError(e)}`));
    await new Promise<void>((r) => w.once('ready', () => r()));
    return w;
  }

  /** Watches the spec dir's entries (chokidar), and the dir's own entry in its parent (a swapped symlink). */
  private async watchDir(): Promise<void> {
    const { watch } = await import('chokidar');
    const dir = this.opts.dir;
    const onChange = (): void => this.scheduleReload();
    const open = async (): Promise<FSWatcher> => {
      const w = watch(dir, { depth: 0, ignoreInitial: true, persistent: true, followSymlinks: true, atomic: false, ignorePermissionErrors: true });
      w.on('all', onChange);
      w.on('error', (e) => this.log.warn({ dir, error: describeError(e) }, `watching ${dir}: ${describeError(e)}`));
      await new Promise<void>((r) => w.once('ready', () => r()));
      return w;
    };
    let dirWatcher = await open();
    const parent = watch(dirname(dir), { depth: 0, ignoreInitial: true, persistent: true, followSymlinks: false, atomic: false, ignorePermissionErrors: true });
    let inode = this.inodeOf(dir);
    parent.on('all', (_event, path) => {
      if (basename(path) !== basename(dir)) return;
      const now = this.inodeOf(dir);
      if (now === inode) return onChange();
      inode = now;
      void (async () => {
        if (this.stopping) return;
        const old = dirWatcher;
        const fresh = await open();
        if (this.stopping) {
          await fresh.close();
          return;
        }
        dirWatcher = fresh;
        this.watchers = [dirWatcher, parent];
        await old.close();
        onChange();
      })().catch((e: unknown) => this.passFailed(`watching ${dir} again after it was swapped`, e));
    });
    await new Promise<void>((r) => parent.once('ready', () => r()));
    this.watchers = [dirWatcher, parent];
  }

  /** Identity of what the dir path points at now (its symlink's target changes when git-sync swaps it). */
  private inodeOf(path: string): string {
    try {
      const l = lstatSync(path);
      return l.isSymbolicLink() ? `link:${l.ino}:${l.mtimeMs}` : `dir:${l.ino}`;
    } catch {
      return 'missing';
    }
  }

  /** A removal waits out the quiet period, and the deletion cap. */
  private mayRemove(name: string): boolean {
    const now = Date.now();
    const since = this.removalSince.get(name);
    if (since === undefined) {
      this.removalSince.set(name, now);
      this.kick(name, this.removalDelayMs);
      return false;
    }
    if (now - since < this.removalDelayMs) {
      this.kick(name, since + this.removalDelayMs - now);
      return false;
    }
    const cap = this.opts.maxDeletions;
    if (cap !== undefined && this.removalSince.size > cap) {
      this.log.error({ pending: this.removalSince.size, maxDeletions: cap }, `${this.removalSince.size} containers wait to be removed, more than --max-deletions ${cap}: removing none`);
      this.kick(name, this.removalDelayMs);
      return false;
    }
    return true;
  }

  /** Asks for the container to be looked at, now or after delayMs. */
  kick(name: string, delayMs = 0): void {
    if (this.stopping) return;
    let w = this.workers.get(name);
    if (!w) {
      w = { dirty: false, running: null, timer: null, timerAt: 0 };
      this.workers.set(name, w);
    }
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      if (w.timer && w.timerAt <= at) return;
      if (w.timer) clearTimeout(w.timer);
      w.timerAt = at;
      w.timer = setTimeout(() => {
        w!.timer = null;
        this.kick(name);
      }, delayMs);
      return;
    }
    w.dirty = true;
    if (!w.running) w.running = this.work(name, w);
  }

  private async work(name: string, w: Worker): Promise<void> {
    try {
      while (w.dirty && !this.stopping) {
        w.dirty = false;
        try {
          this.after(name, await reconcileOne(this.ps, name));
        } catch (e) {
          this.log.error({ container: name, error: describeError(e) }, `reconciling ${name}: ${describeError(e)}`);
          this.retryLater(name);
        }
      }
    } finally {
      w.running = null;
      this.notifyIdle();
    }
  }

  /** Schedules another attempt after a failure: 100 ms, doubling per failure in a row, at most 5 min. */
  private retryLater(name: string): void {
    const n = (this.failures.get(name) ?? 0) + 1;
    this.failures.set(name, n);
    this.kick(name, Math.min(300_000, 100 * 2 ** Math.min(n - 1, 20)));
  }

  private after(name: string, o: ContainerOutcome): void {
    if (this.stopping) return;
    const a = o.action;
    if (o.result?.ok && a.kind !== 'none') this.counts[a.kind]++;
    if (a.kind === 'none' && a.retryAt) this.kick(name, Math.max(1, a.retryAt - Date.now()));
    if (o.result && !o.result.ok) this.retryLater(name);
    else if (o.result) this.failures.delete(name);
    if (this.load.desired.some((d) => d.spec.name === name)) this.removalSince.delete(name);
    const now = observeContainer(this.host, this.opts.dirs, this.driver, name);
    const ours = this.track(name, now ?? undefined);
    // A workload that exited before its start was even recorded has no monitor left to watch:
    // look again at once (the plan then restarts it, after its backoff, or leaves it exited).
    if (ours && !now!.initAlive && a.kind !== 'none' && a.kind !== 'remove') this.kick(name);
  }

  /** Ownership, the exit watch on the monitor and the health check, from an observation of the container. Returns whether it is ours. */
  private track(name: string, now: ActualContainer | undefined): boolean {
    const ours = !!now?.record && now.record.source.dir === this.opts.dir;
    if (ours) this.owned.add(name);
    else {
      this.owned.delete(name);
      this.removalSince.delete(name);
    }
    const watch = this.exitWatches.get(name);
    if (ours && now!.monitorAlive && now!.pids) {
      if (watch?.pid !== now!.pids.monitorPid) {
        watch?.stop();
        const pids = now!.pids;
        const stop = this.host.watchExit({ pid: pids.monitorPid, startTime: pids.monitorStart }, () => {
          this.exitWatches.delete(name);
          this.kick(name);
        });
        this.exitWatches.set(name, { pid: pids.monitorPid, stop });
      }
    } else if (watch) {
      watch.stop();
      this.exitWatches.delete(name);
    }
    const spec = now?.record?.spec;
    if (this.health && ours && now!.initAlive && !now!.limits?.frozen && spec?.healthcheck) this.health.ensure(now!, spec);
    else this.health?.stop(name);
    return ours;
  }
}
