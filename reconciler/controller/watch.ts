import { lstatSync, statSync } from 'node:fs';
import { observe, observeContainer } from '../observe/observe.js';
import type { ActualContainer } from '../observe/types.js';
import { plan } from '../plan/plan.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { decideRemovals, type HeldRemovals } from '../plan/removals.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { detectDriver } from '../cgroups/detect.js';
import type { LogPolicy } from '../runtime/monitorConfig.js';
import { describeError } from '../host/errors.js';
import type { Host } from '../host/host.js';
import { NodeHost } from '../host/nodeHost.js';
import { monitorBinary } from '../native.js';
import { SpecCache } from '../spec/cache.js';
import type { NetworkOptions } from '../network/conflist.js';
import { imageResolver } from '../image/resolve.js';
import { loadSpecDir, type DirLoad, type Trust } from '../spec/load.js';
import { formatSpecError, type DesiredContainer, type RestartBackoff } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import type { ContainerRecord } from '../state/records.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../host/timeouts.js';
import { prepareInstance } from '../instance/privateDirs.js';
import { ContainerWatches } from './containerWatches.js';
import { collectLeftovers, reportStrangers } from './gc.js';
import { HealthChecker } from './health.js';
import { buildPass } from './pass.js';
import { QuietTimer } from './quietTimer.js';
import { reconcileOne, type PassState } from './reconcileOne.js';
import { gitRevision } from './revision.js';
import { recordSourceStatus } from './sourceStatus.js';
import { SpecSources } from './specSources.js';
import { WorkQueue, type WorkResult } from './workQueue.js';

/** Delay of the reload that follows a burst of events (longer than chokidar's 50 ms change throttle). */
const TRAILING_RELOAD_MS = 75;

/** A removal decision waits for the dir to be quiet, but at most this long after the first change (or 20 quiet periods). */
const MAX_QUIET_WAIT_MS = 30_000;

/** Options of the watching controller. */
export interface WatchOptions {
  dir: string;
  dirs: InstanceDirs;
  /** Full resync period (catches anything events missed). Default 30 s. */
  resyncMs?: number;
  /** Quiet period after the last change of the dir before removals are decided. Default 500 ms. */
  removalDelayMs?: number;
  allowEmpty?: boolean;
  /** Refuse every removal of a decision that would remove more than this many containers. */
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

/** What one resync did: containers observed, how many were handed to their workers, how long it took. */
export interface ResyncStats {
  containers: number;
  kicked: number;
  durationMs: number;
}

/** Counts of what the controller did, by action kind (tests and benchmarks read them). */
export type ActionCounts = Record<'create' | 'update' | 'recreate' | 'restart' | 'stop' | 'remove', number>;

/** When the entries of a spec dir last changed: the latest mtime or ctime of the path and, for a symlink, of the dir it names. */
function dirChangedAtMs(dir: string): number {
  let at = 0;
  for (const st of [() => lstatSync(dir), () => statSync(dir)]) {
    try {
      const s = st();
      at = Math.max(at, s.mtimeMs, s.ctimeMs);
    } catch {
      /* gone: its load says so */
    }
  }
  return at;
}

/** Key of what a container runs, or a spec asks for: a difference means "look at this container". */
const specKey = (d: Pick<DesiredContainer, 'hash' | 'source'>): string => `${d.hash}|${d.source.file}|${d.source.doc}`;
const recordKey = (r: ContainerRecord): string => specKey(r);

/**
 * The watching controller (`pocker reconcile`): every change of the spec dir (SpecSources) reads
 * the whole dir again and compares the whole desired set with what the containers run, handing
 * each container that differs to its worker (WorkQueue: one at a time per container, failures
 * retried with backoff). Creates and updates apply at once; removals are decided for a whole
 * burst at once, on the dir as it stands once it has been quiet for --removal-delay, all or none
 * (an empty dir, the deletion cap). A resync observes everything. Exits are seen at once and
 * health is checked (ContainerWatches).
 */
export class WatchController {
  private readonly host: Host;
  private readonly driver: CgroupDriver;
  private readonly log: Logger;
  private readonly resyncMs: number;
  private readonly backoff: RestartBackoff;
  private load: DirLoad;
  private ps!: PassState;
  /** Containers of this spec dir, and what their records say they run. */
  private readonly owned = new Map<string, { key: string; file: string }>();
  /** Removals the last decision allowed. */
  private readonly approved = new Set<string>();
  private held: HeldRemovals | undefined;
  private readonly queue: WorkQueue;
  private readonly sources: SpecSources;
  private readonly watches: ContainerWatches;
  private readonly removals: QuietTimer;
  private resyncTimer: NodeJS.Timeout | null = null;
  private parentReady = false;
  private reloadQueued = false;
  private trailing: NodeJS.Timeout | null = null;
  private stopping = false;
  private lastErrors = '';
  private lastPassError = '';
  private readonly strangersSeen = new Set<string>();
  /** Parses of unchanged spec files are reused across reloads and resyncs. */
  private readonly specCache = new SpecCache();
  /** What was done so far, by kind. */
  readonly counts: ActionCounts = { create: 0, update: 0, recreate: 0, restart: 0, stop: 0, remove: 0 };

  constructor(private readonly opts: WatchOptions) {
    this.host = opts.host ?? new NodeHost();
    this.driver = opts.driver ?? detectDriver(this.host, opts.dirs.cgroupParent);
    this.log = opts.log ?? silentLogger;
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.load = { dir: opts.dir, status: 'missing', files: [], desired: [], errors: [], failedFiles: new Set() };
    this.queue = new WorkQueue(
      (name) => this.work(name),
      (name, e) => this.log.error({ container: name, error: describeError(e) }, `reconciling ${name}: ${describeError(e)}`),
      () => this.reloadQueued || !!this.trailing || this.removals.pending,
    );
    const health =
      opts.healthChecks === false
        ? null
        : new HealthChecker({ host: this.host, dirs: opts.dirs, driver: this.driver, monitorBinary: opts.monitorBinary ?? monitorBinary(), log: this.log, onUnhealthy: (n) => this.queue.add(n) });
    this.watches = new ContainerWatches(this.host, health, (n) => this.queue.add(n));
    const delay = opts.removalDelayMs ?? 500;
    this.removals = new QuietTimer(delay, Math.max(delay * 20, MAX_QUIET_WAIT_MS), () => this.guarded('deciding removals', () => this.decideRemovals()));
    this.sources = new SpecSources({ dir: opts.dir, dataDir: opts.dirs.dataDir, log: this.log, onChange: () => this.scheduleReload(), onError: (what, e) => this.passFailed(what, e) });
  }

  /** Loads, observes, starts every worker, and begins watching. Resolves once watching. */
  async start(): Promise<void> {
    prepareInstance(this.host, this.opts.dirs, this.log);
    this.rebuildPass(this.readDir());
    this.resync();
    await this.sources.start();
    this.resyncTimer = setInterval(() => void this.resync(), this.resyncMs);
    this.log.info({ dir: this.opts.dir, resyncMs: this.resyncMs, removalDelayMs: this.opts.removalDelayMs ?? 500 }, `watching ${this.opts.dir}`);
  }

  /** Stops watching and waits for every container's current step to finish (containers keep running). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.trailing) clearTimeout(this.trailing);
    this.removals.cancel();
    await this.sources.close();
    await this.queue.stop();
    // Only now: a step that was finishing may have set up a watch.
    await this.watches.stopAll();
    this.log.debug({ dir: this.opts.dir }, 'stopped');
  }

  /** Resolves when no worker is running or asked for, and no reload or removal decision is pending (tests). */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Asks for a container to be looked at, now or after delayMs. */
  kick(name: string, delayMs = 0): void {
    this.queue.add(name, delayMs);
  }

  /** Runs fn; a failure is logged (once per distinct message in a row) and the controller goes on. */
  private guarded<T>(what: string, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (e) {
      this.passFailed(what, e);
      return undefined;
    } finally {
      this.queue.notifyIdle();
    }
  }

  private passFailed(what: string, e: unknown): void {
    const message = `${what}: ${describeError(e)}`;
    if (message === this.lastPassError) return;
    this.lastPassError = message;
    this.log.error({ dir: this.opts.dir, error: describeError(e) }, `${message}; the controller keeps going and tries again at the next change or resync`);
  }

  private readDir(): DirLoad {
    const load = loadSpecDir(this.opts.dir, this.opts.trust, this.specCache, imageResolver(this.host, this.opts.dirs.dataDir));
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
    this.load = load;
    this.ps = buildPass({
      source: this.opts.dir,
      load,
      host: this.host,
      driver: this.driver,
      dirs: this.opts.dirs,
      backoff: this.backoff,
      timeouts: this.opts.timeouts ?? DEFAULT_TIMEOUTS,
      monitorBinary: this.opts.monitorBinary ?? monitorBinary(),
      allowEmpty: !!this.opts.allowEmpty,
      log: this.log,
      revision,
      mayRemove: (name) => this.approved.has(name),
      ensureParent: () => {
        if (!this.parentReady) this.driver.ensureParent(this.host);
        this.parentReady = true;
      },
      ...(this.opts.logPolicy && { logPolicy: this.opts.logPolicy }),
      ...(this.opts.network && { network: this.opts.network }),
    });
    this.recordStatus(revision);
  }

  private recordStatus(revision = gitRevision(this.opts.dir)): void {
    try {
      recordSourceStatus(this.host, this.opts.dirs.stateDir, this.load, revision, this.load.errors.length === 0, this.held);
    } catch (e) {
      this.passFailed('recording the status of the spec dir', e);
    }
  }

  /** Containers of this dir that no spec names now (the kept containers of broken files aside). */
  private removalCandidates(): string[] {
    const desired = new Set(this.load.desired.map((d) => d.spec.name));
    return [...this.owned].filter(([n, o]) => !desired.has(n) && !this.load.failedFiles.has(o.file)).map(([n]) => n);
  }

  /**
   * Reads the whole dir and compares the whole desired set with what the containers run: a
   * container whose spec is new or differs from its record goes to its worker; containers no
   * spec names wait for the next removal decision (each change restarts its quiet period).
   */
  private reload(): void {
    this.reloadQueued = false;
    if (this.stopping) return;
    this.guarded('reloading the spec dir', () => this.compareWhole());
  }

  private compareWhole(): void {
    this.rebuildPass(this.readDir());
    for (const d of this.load.desired) {
      const name = d.spec.name;
      this.approved.delete(name);
      if (this.owned.get(name)?.key !== specKey(d)) this.queue.add(name);
    }
    if (this.removalCandidates().length) this.removals.poke();
    else if (this.held) this.setHeld(undefined);
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
   * The quiet period is over: one decision on every removal, on the dir as it stands now. Quiet
   * is the dir's own: its entries (and those of the dir a symlink names) must have stopped
   * changing for the whole period, whatever events are still on their way to this process.
   */
  private decideRemovals(): void {
    if (this.stopping) return;
    const delay = this.opts.removalDelayMs ?? 500;
    const quietFor = Date.now() - dirChangedAtMs(this.opts.dir);
    if (quietFor < delay && !this.removals.overdue) {
      this.removals.later(delay - quietFor);
      return;
    }
    this.compareWhole();
    this.removals.done();
    const candidates = this.removalCandidates();
    const rules = { allowEmpty: !!this.opts.allowEmpty, ...(this.opts.maxDeletions !== undefined && { maxDeletions: this.opts.maxDeletions }) };
    const decision = decideRemovals(this.opts.dir, this.load.status, this.load.files.length, candidates, rules);
    if ('held' in decision) return this.setHeld(decision.held);
    this.setHeld(undefined);
    for (const name of decision.approved) {
      this.approved.add(name);
      this.queue.add(name);
    }
  }

  private setHeld(held: HeldRemovals | undefined): void {
    const changed = held?.reason !== this.held?.reason;
    this.held = held;
    if (!changed) return;
    if (held) (held.rule === 'cap' ? this.log.error : this.log.warn).call(this.log, { dir: this.opts.dir, held: held.count }, held.reason);
    else this.log.info({ dir: this.opts.dir }, 'removals are no longer held');
    this.recordStatus();
  }

  /** One container's work: reconcile it under its lock, then watch what it became. */
  private async work(name: string): Promise<WorkResult | void> {
    const o = await reconcileOne(this.ps, name);
    const a = o.action;
    if (o.result?.ok && a.kind !== 'none') this.counts[a.kind]++;
    const now = observeContainer(this.host, this.opts.dirs, this.driver, name) ?? undefined;
    const ours = this.track(name, now);
    if (!ours || this.load.desired.some((d) => d.spec.name === name)) this.approved.delete(name);
    if (o.result && !o.result.ok) return { failed: true };
    if (a.kind === 'none' && a.retryAt) return { requeueAfterMs: Math.max(1, a.retryAt - Date.now()) };
    // A workload that exited before its start was even recorded has no monitor left to watch:
    // look again at once (the plan then restarts it, after its backoff, or leaves it exited).
    if (ours && !now!.initAlive && a.kind !== 'none' && a.kind !== 'remove') return { requeueAfterMs: 0 };
  }

  /** Ownership and watches of a container from an observation of it. Returns whether it is this dir's. */
  private track(name: string, now: ActualContainer | undefined): boolean {
    const ours = !!now?.record && now.record.source.dir === this.opts.dir;
    if (ours) this.owned.set(name, { key: recordKey(now!.record!), file: now!.record!.source.file });
    else this.owned.delete(name);
    this.watches.track(name, now, ours);
    return ours;
  }

  /**
   * Full resync: host facts, the whole dir, one observation of every container, one pure plan
   * over them. Only containers with something to do (or a worker already busy) are handed to
   * their workers; removals go to the next removal decision; for the rest the watches are made
   * sure of from the same observation, so a no-op resync costs one observation and one plan.
   */
  resync(): ResyncStats | null {
    if (this.stopping) return null;
    return this.guarded('resync', () => this.resyncNow()) ?? null;
  }

  private resyncNow(): ResyncStats {
    const t0 = performance.now();
    this.rebuildPass(this.readDir());
    const actual = observe(this.host, this.opts.dirs, this.driver);
    reportStrangers(actual.strangers, this.log, this.strangersSeen);
    for (const name of [...this.owned.keys()]) if (!actual.containers.has(name)) this.track(name, undefined);
    const p = plan({ source: this.ps.source, load: this.load, actual, facts: this.ps.ctx.facts, allowEmpty: true, now: Date.now(), backoff: this.backoff });
    const byName = new Map(p.actions.map((a) => [a.name, a]));
    let kicked = 0;
    for (const a of actual.containers.values()) if (a.record?.source.dir === this.opts.dir) this.track(a.name, a);
    for (const name of new Set([...this.owned.keys(), ...this.load.desired.map((d) => d.spec.name)])) {
      const action = byName.get(name);
      if (this.queue.waiting(name) || action?.kind === 'remove') continue;
      if (this.queue.busy(name) || !action || action.kind !== 'none' || action.retryAt !== undefined) {
        this.queue.add(name);
        kicked++;
      }
    }
    if (this.removalCandidates().length) this.removals.ensure();
    if (actual.leftovers.length) void collectLeftovers(this.host, this.opts.dirs, this.driver, actual.leftovers, this.log, this.opts.timeouts);
    const stats = { containers: actual.containers.size, kicked, durationMs: Math.round((performance.now() - t0) * 10) / 10 };
    this.log.debug(stats, `resync: ${stats.containers} containers observed, ${kicked} handed to their workers, ${stats.durationMs} ms`);
    return stats;
  }
}
