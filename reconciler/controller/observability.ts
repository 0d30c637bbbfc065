import { ProcessHookRunner } from '../host/hookRunner.js';
import type { Host } from '../host/host.js';
import type { Logger } from '../log/logger.js';
import type { EventSink } from '../state/events.js';
import { EventHub } from './events.js';
import { ControllerMetrics, type PassKind } from './metrics.js';
import { formatMetricsAddress } from './metricsAddress.js';
import { MemoryRelease } from './memoryRelease.js';
import { MetricsServer } from './metricsServer.js';
import { Notifier } from './notifier.js';
import type { WatchOptions } from './options.js';
import type { ControllerSnapshot } from './snapshot.js';

/**
 * What the watching controller tells the world: every event to the journal, the notify hook and
 * the metrics (one EventHub); pass durations and actions to the metrics; the listener serving
 * `/metrics` and the status page when an address is given. Work it times and pages it serves
 * also tell MemoryRelease, which gives freed memory back once the controller is quiet.
 */
export class Observability {
  readonly metrics: ControllerMetrics;
  readonly events: EventHub;
  private readonly notifier: Notifier | null;
  private readonly server: MetricsServer | null;
  private readonly release: MemoryRelease;

  constructor(opts: WatchOptions, host: Host, log: Logger, snapshot: () => ControllerSnapshot) {
    const release = new MemoryRelease(host);
    this.release = release;
    this.notifier = opts.notify ? new Notifier(opts.notify, opts.hookRunner ?? new ProcessHookRunner(), log) : null;
    const n = this.notifier;
    this.metrics = new ControllerMetrics(n ? () => ({ dropped: n.dropped, failures: n.failures }) : undefined);
    const sinks: EventSink[] = [this.metrics];
    if (opts.events) sinks.push(opts.events);
    if (n) sinks.push(n);
    this.events = new EventHub(sinks);
    this.server = opts.metricsAddress
      ? new MetricsServer({
          address: opts.metricsAddress,
          metrics: this.metrics,
          snapshot: () => {
            release.worked();
            return snapshot();
          },
          log,
        })
      : null;
  }

  /** Starts the listener, if any; a listener that cannot bind fails the start. */
  async start(log: Logger): Promise<void> {
    if (!this.server) return;
    await this.server.start();
    const where = formatMetricsAddress(this.server.address);
    log.info({ metrics: where }, `serving metrics and the status page on ${where}`);
  }

  /** The TCP port the listener bound (tests bind port 0). */
  get port(): number | null {
    return this.server?.port ?? null;
  }

  async stop(): Promise<void> {
    await this.server?.stop();
    await this.notifier?.close();
    this.release.stop();
  }

  /** Runs fn and records how long it took under kind (also when it throws). */
  async timed<T>(kind: PassKind, fn: () => Promise<T>): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.metrics.observePass(kind, (performance.now() - t0) / 1000);
      this.release.worked();
    }
  }

  /** The synchronous form of timed. */
  timedSync<T>(kind: PassKind, fn: () => T): T {
    const t0 = performance.now();
    try {
      return fn();
    } finally {
      this.metrics.observePass(kind, (performance.now() - t0) / 1000);
      this.release.worked();
    }
  }
}
