import { observe, observeContainerStamped } from '../observe/observe.js';
import type { ActualContainer } from '../observe/types.js';
import { plan } from '../plan/plan.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { detectDriver } from '../cgroups/detect.js';
import type { Host } from '../host/host.js';
import { NodeHost } from '../host/nodeHost.js';
import type { DirLoad } from '../spec/load.js';
import type { RestartBackoff } from '../spec/types.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { prepareInstance } from '../instance/privateDirs.js';
import type { ContainerWatches } from './containerWatches.js';
import { FailureLog } from './failureLog.js';
import type { ImagePulls } from './imagePulls.js';
import { pendingPulls, withPullErrors } from './pendingPulls.js';
import { collectLeftovers, reportStrangers } from './gc.js';
import type { ActionCounts, ResyncStats, WatchOptions } from './options.js';
export type { ActionCounts, ResyncStats, WatchOptions } from './options.js';
import { controllerPass } from './pass.js';
import { resyncKicks } from './resyncKicks.js';
import { DEFAULT_FULL_RESYNC_EVERY, ResyncCadence } from './resyncCadence.js';
import { reconcileOne, type PassState } from './reconcileOne.js';
import type { RemovalGate } from './removalGate.js';
import { gitRevision } from './revision.js';
import type { ReloadScheduler } from './reloadScheduler.js';
import { watchParts } from './watchParts.js';
import { refreshHosts } from '../network/names.js';
import { hasFirewall } from '../network/firewall.js';
import { followingNames } from './firewalls.js';
import { dependentsOf } from '../plan/dependencies.js';
import { AutoUpdater } from './autoUpdater.js';
import { DEFAULT_REGISTRY_SETTINGS } from '../image/registrySettings.js';
import { registryClientFactory } from '../image/registryClients.js';
import { recordSourceStatus } from './sourceStatus.js';
import type { SpecReader } from './specReader.js';
import type { SpecSources } from './specSources.js';
import type { WorkQueue, WorkResult } from './workQueue.js';
import { Observability } from './observability.js';
import { specErrorEvents } from './events.js';
import { takeSnapshot, type ControllerSnapshot } from './snapshot.js';

/**
 * The watching controller (`pocker reconcile`): every change of the spec dir (SpecSources) reads
 * the whole dir again (SpecReader) and compares the whole desired set with what the containers
 * run, handing each container that differs to its worker (WorkQueue: one at a time per container,
 * requeued as reconcileOne says, failures retried with backoff unless terminal). Creates and
 * updates apply at once; removals are decided for a whole burst at once, on the dir as it stands
 * once it has been quiet for --removal-delay, all or none (RemovalGate). A resync observes
 * everything (in full every --full-resync-every-th time). Exits are seen at once and health is
 * checked (ContainerWatches).
 */
export class WatchController {
  private readonly host: Host;
  private readonly driver: CgroupDriver;
  private readonly log: Logger;
  private readonly resyncMs: number;
  private readonly cadence: ResyncCadence;
  private readonly removalDelayMs: number;
  private readonly backoff: RestartBackoff;
  private load: DirLoad;
  private pass!: PassState;
  private readonly queue: WorkQueue;
  private readonly reader: SpecReader;
  private readonly sources: SpecSources;
  private readonly watches: ContainerWatches;
  private readonly gate: RemovalGate;
  private resyncTimer: NodeJS.Timeout | null = null;
  private parentReady = false;
  private readonly reloads: ReloadScheduler;
  /** Brings the bridge containers' /etc/hosts up to date, once per burst of starts and removals. */
  private readonly names: ReloadScheduler;
  private stopping = false;
  private readonly failures: FailureLog;
  private readonly pulls: ImagePulls;
  /** Registry images that move by themselves (autoUpdate), and their rollbacks. */
  private readonly updates: AutoUpdater;
  private readonly strangersSeen = new Set<string>();
  /** What was done so far, by kind. */
  readonly counts: ActionCounts = { create: 0, update: 0, recreate: 0, restart: 0, stop: 0, remove: 0 };
  /** Events, metrics and the listener. */
  readonly observability: Observability;
  /** The last observation of each container of this dir (what metrics and the status page show). */
  private readonly observations = new Map<string, ActualContainer>();
  private readonly specErrorsSeen = new Set<string>();
  /** CPU time per container at the last snapshot (the status page's CPU %). */
  private readonly cpuSeen = new Map<string, { cpuNs: number; atMs: number }>();
  private readonly opts: WatchOptions;

  constructor(options: WatchOptions) {
    this.host = options.host ?? new NodeHost();
    this.log = options.log ?? silentLogger;
    this.observability = new Observability(options, this.host, this.log, () => this.snapshot());
    const opts: WatchOptions = { ...options, events: this.observability.events };
    this.opts = opts;
    this.driver = opts.driver ?? detectDriver(this.host, opts.dirs.cgroupParent);
    this.resyncMs = opts.resyncMs ?? 30_000;
    this.cadence = new ResyncCadence(opts.fullResyncEvery ?? DEFAULT_FULL_RESYNC_EVERY);
    this.removalDelayMs = opts.removalDelayMs ?? 500;
    this.backoff = opts.backoff ?? DEFAULT_BACKOFF;
    this.failures = new FailureLog(this.log, opts.dir);
    this.load = { dir: opts.dir, status: 'missing', files: [], desired: [], errors: [], failedFiles: new Set() };
    const parts = watchParts(opts, {
      host: this.host,
      driver: this.driver,
      log: this.log,
      removalDelayMs: this.removalDelayMs,
      reconcile: (name) => this.reconcileContainer(name),
      changed: (name) => this.changed(name),
      reload: () => this.reload(),
      recordStatus: () => this.recordStatus(),
      decideRemovals: () =>
        this.guarded('deciding removals', () => {
          if (this.stopping) return;
          this.compareWhole();
          for (const name of this.gate.decide(this.load)) this.queue.add(name);
        }),
      refreshNames: () =>
        this.guarded('updating /etc/hosts of the bridge containers', () => {
          refreshHosts(this.host, opts.dirs);
          // Tables that name containers follow their addresses: their workers compare them under their locks.
          for (const n of followingNames(this.load.desired)) this.queue.add(n);
        }),
      failed: (what, e) => this.failures.failed(what, e),
    });
    ({
      queue: this.queue,
      watches: this.watches,
      gate: this.gate,
      reloads: this.reloads,
      names: this.names,
      pulls: this.pulls,
      reader: this.reader,
      sources: this.sources,
    } = parts);
    this.updates = new AutoUpdater({
      dir: opts.dir,
      host: this.host,
      dirs: opts.dirs,
      driver: this.driver,
      log: this.log,
      ...(opts.secretsDir && { secretsDir: opts.secretsDir }),
      ...(opts.trust && { trust: opts.trust }),
      client: opts.registry ?? registryClientFactory(opts.registries),
      concurrency: (opts.registries ?? DEFAULT_REGISTRY_SETTINGS).concurrency,
      pass: (load) =>
        controllerPass(this.opts, { load, host: this.host, driver: this.driver, log: this.log, revision: null, mayRemove: () => false }),
      desired: () => this.load.desired,
      moved: (name) => this.changed(name),
      events: this.observability.events,
    });
  }

  /** Loads, observes, starts every worker, and begins watching. Resolves once watching. */
  async start(): Promise<void> {
    prepareInstance(this.host, this.opts.dirs, this.log);
    await this.observability.start(this.log);
    this.rebuildPass(this.reader.read());
    this.resync();
    await this.sources.start();
    await this.updates.start();
    this.resyncTimer = setInterval(() => void this.resync(), this.resyncMs);
    this.log.info({ dir: this.opts.dir, resyncMs: this.resyncMs, removalDelayMs: this.removalDelayMs }, `watching ${this.opts.dir}`);
  }

  /** Stops watching and waits for every container's current step to finish (containers keep running). */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.updates.stop();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    this.reloads.cancel();
    this.names.cancel();
    this.gate.cancel();
    await this.sources.close();
    await this.queue.stop();
    await this.pulls.stop();
    // Only now: a step that was finishing may have set up a watch.
    await this.watches.stopAll();
    await this.observability.stop();
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
      this.failures.failed(what, e);
      return undefined;
    } finally {
      this.queue.notifyIdle();
    }
  }

  private rebuildPass(read: DirLoad): void {
    const revision = gitRevision(this.opts.dir);
    const load = withPullErrors(read, this.pulls.errors());
    this.pulls.request(pendingPulls(load));
    this.load = load;
    for (const e of specErrorEvents(this.opts.dir, load.errors, this.specErrorsSeen)) this.observability.events.emit(e);
    this.pass = controllerPass(this.opts, {
      load,
      host: this.host,
      driver: this.driver,
      log: this.log,
      revision,
      mayRemove: (name) => this.gate.mayRemove(name),
      observeAfterStart: true,
      ensureParent: () => {
        if (!this.parentReady) this.driver.ensureParent(this.host);
        this.parentReady = true;
      },
    });
    this.recordStatus(revision);
  }

  private recordStatus(revision = gitRevision(this.opts.dir)): void {
    try {
      recordSourceStatus(this.host, this.opts.dirs.stateDir, this.load, revision, this.load.errors.length === 0, this.gate.held);
    } catch (e) {
      this.failures.failed('recording the status of the spec dir', e);
    }
  }

  /**
   * Reads the whole dir and compares the whole desired set with what the containers run: a
   * container whose spec is new or differs from its record goes to its worker; containers no
   * spec names wait for the next removal decision (each change restarts its quiet period).
   */
  private reload(): void {
    if (this.stopping) return;
    this.guarded('reloading the spec dir', () => this.observability.timedSync('reload', () => this.compareWhole()));
  }

  private compareWhole(): void {
    this.rebuildPass(this.reader.read());
    for (const d of this.load.desired) {
      this.gate.revoke(d.spec.name);
      if (this.gate.differs(d)) this.queue.add(d.spec.name);
    }
    if (this.gate.candidates(this.load).length) this.gate.changed();
    else this.gate.clear();
  }

  /** A container exited, turned healthy or unhealthy, or was acted on: it and the containers that depend on it look again. */
  private changed(name: string): void {
    this.cadence.mark(name);
    this.queue.add(name);
    for (const d of dependentsOf(this.load.desired, name)) this.queue.add(d);
  }

  /** One container's work: reconcile it under its lock, then watch what it became; reconcileOne says when to look again. */
  private async reconcileContainer(name: string): Promise<WorkResult> {
    const o = await this.observability.timed('container', () => reconcileOne(this.pass, name));
    if (o.result?.ok && o.action.kind !== 'none') {
      this.counts[o.action.kind]++;
      this.observability.metrics.countAction(o.action.kind);
      for (const d of dependentsOf(this.load.desired, name)) this.queue.add(d);
      this.names.request();
    }
    const ours = this.noteObservation(
      name,
      o.after !== undefined ? o.after : observeContainerStamped(this.host, this.opts.dirs, this.driver, name),
    );
    if (!ours || this.load.desired.some((d) => d.spec.name === name)) this.gate.revoke(name);
    return o.requeue;
  }

  /** Ownership and watches of a container from an observation of it. Returns whether it is this dir's. */
  private noteObservation(name: string, now: ActualContainer | null | undefined): boolean {
    const ours = this.gate.note(name, now);
    this.watches.track(name, now ?? undefined, ours);
    if (ours && now) this.observations.set(name, now);
    else this.observations.delete(name);
    return ours;
  }

  /**
   * Resync: host facts, the whole dir, an observation of every container, one pure plan over them.
   * Only containers with something to do (or a worker already busy) are handed to their workers;
   * removals go to the next removal decision; for the rest the watches are made sure of from the
   * same observation, so a no-op resync costs one observation and one plan. Every
   * --full-resync-every-th resync reads every container; the others read only those a
   * notification marked or whose dirs changed, and keep the last observation of the rest
   * (ResyncCadence).
   */
  resync(): ResyncStats | null {
    if (this.stopping) return null;
    return this.guarded('resync', () => this.observability.timedSync('resync', () => this.resyncNow())) ?? null;
  }

  /** What the controller knows now, with usage read from the kernel (metrics and the status page). */
  snapshot(): ControllerSnapshot {
    return takeSnapshot({
      host: this.host,
      dirs: this.opts.dirs,
      driver: this.driver,
      dir: this.opts.dir,
      observations: this.observations,
      specErrors: this.load.failedFiles.size,
      events: this.observability.events.recent(),
      cpuSeen: this.cpuSeen,
    });
  }

  private resyncNow(): ResyncStats {
    const t0 = performance.now();
    this.rebuildPass(this.reader.read());
    const full = this.cadence.begin();
    const incremental = full ? null : this.cadence.reuser(this.observations, (name, pid) => this.watches.watching(name, pid));
    const actual = observe(this.host, this.opts.dirs, this.driver, { reuse: incremental?.reuse });
    reportStrangers(actual.strangers, this.log, this.strangersSeen);
    for (const name of this.gate.ownedNames()) if (!actual.containers.has(name)) this.noteObservation(name, undefined);
    const p = plan({
      source: this.pass.source,
      load: this.load,
      actual,
      facts: this.pass.ctx.facts,
      allowEmpty: true,
      now: Date.now(),
      backoff: this.backoff,
    });
    for (const a of actual.containers.values()) if (a.record?.source.dir === this.opts.dir) this.noteObservation(a.name, a);
    const kicks = resyncKicks([...this.gate.ownedNames(), ...this.load.desired.map((d) => d.spec.name)], p.actions, this.queue);
    // Firewall tables are read back (drift) by each worker under its lock, not by the resync's one plan.
    for (const d of this.load.desired) if (hasFirewall(d.spec.network) && !kicks.includes(d.spec.name)) kicks.push(d.spec.name);
    for (const name of kicks) this.queue.add(name);
    const kicked = kicks.length;
    if (this.gate.candidates(this.load).length) this.gate.ensureDecision();
    this.names.request();
    if (actual.leftovers.length)
      void collectLeftovers(this.host, this.opts.dirs, this.driver, actual.leftovers, this.log, this.opts.timeouts);
    const read = actual.containers.size - (incremental?.reused() ?? 0);
    const durationMs = Math.round((performance.now() - t0) * 10) / 10;
    const stats = { containers: actual.containers.size, kicked, durationMs, full, read };
    this.log.debug(
      stats,
      `${full ? 'full ' : ''}resync: ${stats.containers} containers observed (${read} read), ${kicked} handed to their workers, ${durationMs} ms`,
    );
    return stats;
  }
}
