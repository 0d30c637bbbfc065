import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { workingSet } from '../cgroups/usage.js';
import { EVENT_TYPES, type EventInput, type EventSink } from '../state/events.js';
import type { ActionCounts } from './options.js';
import { CONTAINER_STATES, type ControllerSnapshot } from './snapshot.js';

/** What a reconcile duration is measured for: one container's work, a reload of the dir, a full resync. */
export type PassKind = 'container' | 'reload' | 'resync';

/**
 * The label sets of one container's series, kept across scrapes: prom-client formats a shared
 * labels object once, so each series of a scrape costs a lookup, not a formatting.
 */
interface ContainerLabels {
  name: string;
  source: string;
  /** name and source alone. */
  plain: Record<string, string>;
  /** With each state, each health status, and the network interface. */
  states: Array<Record<string, string>>;
  health: Array<Record<string, string>>;
  eth0: Record<string, string>;
}

const HEALTH_STATUSES = ['healthy', 'unhealthy', 'starting'] as const;

function containerLabels(name: string, source: string): ContainerLabels {
  return {
    name,
    source,
    plain: { name, source },
    states: CONTAINER_STATES.map((state) => ({ name, source, state })),
    health: HEALTH_STATUSES.map((status) => ({ name, source, status })),
    eth0: { name, source, interface: 'eth0' },
  };
}

interface SeriesValue {
  value: number;
  labels: Record<string, string>;
  sharedLabels: Record<string, string>;
}

const NO_LABELS: Record<string, string> = {};

/**
 * A metric with one series (or one per value of an extra label) per container, its values set in
 * bulk at each scrape and read by prom-client's registry like any metric's. The container's labels
 * go in as shared labels, which prom-client formats once per labels object.
 */
class ContainerSeries {
  values: SeriesValue[] = [];
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'gauge' | 'counter',
  ) {}
  get(): { name: string; help: string; type: string; values: SeriesValue[]; aggregator: string } {
    return { name: this.name, help: this.help, type: this.type, values: this.values, aggregator: 'sum' };
  }
  reset(): void {
    this.values = [];
  }
  add(shared: Record<string, string>, value: number): void {
    this.values.push({ value, labels: NO_LABELS, sharedLabels: shared });
  }
}

/**
 * The controller's Prometheus metrics (prom-client): container metrics under cAdvisor's names
 * with a `name` and `source` label, set from a snapshot at each scrape; what only pocker knows
 * (states, health, restarts, backoff, passes, actions, events, hook drops), counted as it happens.
 * Also an EventSink, counting events by type.
 */
export class ControllerMetrics implements EventSink {
  readonly registry = new Registry();
  private readonly series = new Map<string, ContainerSeries>();
  private shared = new Map<string, ContainerLabels>();
  private readonly specErrors: Gauge<'dir'>;
  private readonly revision: Gauge<'dir' | 'revision'>;
  private readonly durations: Histogram<'kind'>;
  private readonly actions: Counter<'action'>;
  private readonly events: Counter<'type'>;
  private readonly notifyDropped: Counter;
  private readonly notifyFailures: Counter;

  constructor(notify?: () => { dropped: number; failures: number }) {
    const r = [this.registry];
    const series = (name: string, type: 'gauge' | 'counter', help: string): void => {
      const m = new ContainerSeries(name, help, type);
      this.series.set(name, m);
      this.registry.registerMetric(m as never);
    };
    series('container_cpu_usage_seconds_total', 'counter', 'Cumulative CPU time consumed, in seconds.');
    series('container_cpu_cfs_periods_total', 'counter', 'Number of elapsed enforcement period intervals.');
    series('container_cpu_cfs_throttled_periods_total', 'counter', 'Number of throttled period intervals.');
    series('container_cpu_cfs_throttled_seconds_total', 'counter', 'Total time duration the container has been throttled.');
    series(
      'container_memory_usage_bytes',
      'gauge',
      'Current memory usage in bytes, including all memory regardless of when it was accessed.',
    );
    series('container_memory_working_set_bytes', 'gauge', 'Current working set in bytes (usage minus inactive file cache).');
    series('container_memory_swap', 'gauge', 'Container swap usage in bytes.');
    series('container_oom_events_total', 'counter', 'Count of out of memory events observed for the container.');
    series('container_spec_memory_limit_bytes', 'gauge', 'Memory limit for the container (0: none).');
    series('container_spec_cpu_quota', 'gauge', 'CPU quota of the container, in µs per period (0: none).');
    series('container_spec_cpu_period', 'gauge', 'CPU period of the container, in µs.');
    series('container_processes', 'gauge', 'Number of processes running inside the container.');
    series('container_fs_reads_bytes_total', 'counter', 'Cumulative count of bytes read from block devices.');
    series('container_fs_writes_bytes_total', 'counter', 'Cumulative count of bytes written to block devices.');
    series('container_network_receive_bytes_total', 'counter', 'Cumulative count of bytes received.');
    series('container_network_transmit_bytes_total', 'counter', 'Cumulative count of bytes transmitted.');
    series('container_start_time_seconds', 'gauge', 'Start time of the container since unix epoch in seconds.');
    series('pocker_container_restarts_total', 'counter', 'Restarts of the container since it was created.');
    series('pocker_container_backoff_seconds', 'gauge', 'Seconds until the next restart of the container (0: none waiting).');
    series(
      'pocker_container_state',
      'gauge',
      `Where the container is: 1 for its state, 0 for the others (${CONTAINER_STATES.join(', ')}).`,
    );
    series('pocker_container_health', 'gauge', 'Health of the container with a health check: 1 for its status, 0 for the others.');
    series(
      'pocker_image_update_available',
      'gauge',
      'Containers with autoUpdate: 1 when their tag names a digest they do not run yet (and not marked bad).',
    );
    this.specErrors = new Gauge({ name: 'pocker_spec_errors', help: 'Spec files failing to load now.', labelNames: ['dir'], registers: r });
    this.revision = new Gauge({
      name: 'pocker_applied_revision_info',
      help: 'The git revision last applied to the spec dir (1).',
      labelNames: ['dir', 'revision'],
      registers: r,
    });
    this.durations = new Histogram({
      name: 'pocker_reconcile_duration_seconds',
      help: 'How long the controller worked: one container (container), a reload of the spec dir (reload), a full resync (resync).',
      labelNames: ['kind'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: r,
    });
    this.actions = new Counter({
      name: 'pocker_plan_actions_total',
      help: 'Actions applied, by kind.',
      labelNames: ['action'],
      registers: r,
    });
    this.events = new Counter({ name: 'pocker_events_total', help: 'Events recorded, by type.', labelNames: ['type'], registers: r });
    for (const type of EVENT_TYPES) this.events.inc({ type }, 0);
    const n = notify ?? (() => ({ dropped: 0, failures: 0 }));
    this.notifyDropped = new Counter({
      name: 'pocker_notify_dropped_total',
      help: 'Events not given to the notify hook because its queue was full.',
      registers: r,
      collect() {
        this.reset();
        this.inc(n().dropped);
      },
    });
    this.notifyFailures = new Counter({
      name: 'pocker_notify_failures_total',
      help: 'Notify hook runs that failed, timed out or could not start.',
      registers: r,
      collect() {
        this.reset();
        this.inc(n().failures);
      },
    });
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 50 });
    // Gauges named like counters, which Prometheus' own lint refuses; nodejs_active_resources says the same.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'])
      this.registry.removeSingleMetric(name);
  }

  emit(e: EventInput): void {
    this.events.inc({ type: e.type });
  }

  /** One pass of the controller took seconds. */
  observePass(kind: PassKind, seconds: number): void {
    this.durations.observe({ kind }, seconds);
  }

  /** An action was applied. */
  countAction(kind: keyof ActionCounts): void {
    this.actions.inc({ action: kind });
  }

  /** The exposition of a snapshot (text format 0.0.4). */
  async expose(s: ControllerSnapshot): Promise<string> {
    this.fill(s);
    return this.registry.metrics();
  }

  /** The content type of the exposition. */
  get contentType(): string {
    return this.registry.contentType;
  }

  private fill(s: ControllerSnapshot): void {
    for (const m of this.series.values()) m.reset();
    this.specErrors.reset();
    this.revision.reset();
    const shared = new Map<string, ContainerLabels>();
    const m = (name: string): ContainerSeries => this.series.get(name)!;
    const [
      cpu,
      periods,
      throttled,
      throttledTime,
      memory,
      workingSetBytes,
      swap,
      oom,
      memLimit,
      quota,
      period,
      procs,
      reads,
      writes,
      rx,
      tx,
    ] = [
      'container_cpu_usage_seconds_total',
      'container_cpu_cfs_periods_total',
      'container_cpu_cfs_throttled_periods_total',
      'container_cpu_cfs_throttled_seconds_total',
      'container_memory_usage_bytes',
      'container_memory_working_set_bytes',
      'container_memory_swap',
      'container_oom_events_total',
      'container_spec_memory_limit_bytes',
      'container_spec_cpu_quota',
      'container_spec_cpu_period',
      'container_processes',
      'container_fs_reads_bytes_total',
      'container_fs_writes_bytes_total',
      'container_network_receive_bytes_total',
      'container_network_transmit_bytes_total',
    ].map(m) as ContainerSeries[];
    const [state, health, restarts, backoff, update, started] = [
      'pocker_container_state',
      'pocker_container_health',
      'pocker_container_restarts_total',
      'pocker_container_backoff_seconds',
      'pocker_image_update_available',
      'container_start_time_seconds',
    ].map(m) as ContainerSeries[];
    for (const c of s.containers) {
      let labels = this.shared.get(c.name);
      if (!labels || labels.source !== c.source) labels = containerLabels(c.name, c.source);
      shared.set(c.name, labels);
      const l = labels.plain;
      for (let i = 0; i < CONTAINER_STATES.length; i++) state!.add(labels.states[i]!, CONTAINER_STATES[i] === c.state ? 1 : 0);
      if (c.actual.record?.spec.healthcheck) {
        const h = c.actual.health?.status;
        for (let i = 0; i < HEALTH_STATUSES.length; i++) health!.add(labels.health[i]!, h === HEALTH_STATUSES[i] ? 1 : 0);
      }
      restarts!.add(l, c.actual.record?.restartCount ?? 0);
      backoff!.add(l, c.backoffSeconds);
      if (c.updateAvailable !== null) update!.add(l, c.updateAvailable ? 1 : 0);
      if (c.actual.pids && c.actual.initAlive) started!.add(l, c.actual.pids.startedAtMs / 1000);
      const u = c.usage;
      if (!u) continue;
      cpu!.add(l, u.cpuNs / 1e9);
      periods!.add(l, u.cpuPeriods);
      throttled!.add(l, u.cpuThrottledPeriods);
      throttledTime!.add(l, u.cpuThrottledNs / 1e9);
      memory!.add(l, u.memoryBytes);
      workingSetBytes!.add(l, workingSet(u));
      if (u.swapBytes !== null) swap!.add(l, u.swapBytes);
      oom!.add(l, u.oomKills);
      // Limits as the controller last read them back (each action and resync reads them again).
      const lim = c.actual.limits;
      if (lim) {
        memLimit!.add(l, lim.memory === 'max' ? 0 : lim.memory);
        quota!.add(l, lim.cpuQuotaUs === 'max' ? 0 : lim.cpuQuotaUs);
        period!.add(l, lim.cpuPeriodUs);
      }
      procs!.add(l, u.pids);
      reads!.add(l, u.ioReadBytes);
      writes!.add(l, u.ioWriteBytes);
      if (c.net) {
        rx!.add(labels.eth0, c.net.rx);
        tx!.add(labels.eth0, c.net.tx);
      }
    }
    this.shared = shared;
    this.specErrors.set({ dir: s.dir }, s.specErrors);
    for (const src of s.sources) if (src.lastApplied) this.revision.set({ dir: src.dir, revision: src.lastApplied.revision ?? '' }, 1);
  }
}
