import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { workingSet } from '../cgroups/usage.js';
import { EVENT_TYPES, type EventInput, type EventSink } from '../state/events.js';
import type { ActionCounts } from './options.js';
import { CONTAINER_STATES, type ControllerSnapshot } from './snapshot.js';

/** What a reconcile duration is measured for: one container's work, a reload of the dir, a full resync. */
export type PassKind = 'container' | 'reload' | 'resync';

type Labels = 'name' | 'source';

/**
 * The controller's Prometheus metrics (prom-client): container metrics under cAdvisor's names
 * with a `name` and `source` label, set from a snapshot at each scrape; what only pocker knows
 * (states, health, restarts, backoff, passes, actions, events, hook drops), counted as it happens.
 * Also an EventSink, counting events by type.
 */
export class ControllerMetrics implements EventSink {
  readonly registry = new Registry();
  private readonly perContainer: Array<Gauge<Labels> | Counter<Labels>> = [];
  private readonly g: Record<string, Gauge<Labels> | Counter<Labels>> = {};
  private readonly state: Gauge<Labels | 'state'>;
  private readonly health: Gauge<Labels | 'status'>;
  private readonly network: Record<'rx' | 'tx', Counter<Labels | 'interface'>>;
  private readonly specErrors: Gauge<'dir'>;
  private readonly revision: Gauge<'dir' | 'revision'>;
  private readonly updateAvailable: Gauge<Labels>;
  private readonly durations: Histogram<'kind'>;
  private readonly actions: Counter<'action'>;
  private readonly events: Counter<'type'>;
  private readonly notifyDropped: Counter;
  private readonly notifyFailures: Counter;

  constructor(notify?: () => { dropped: number; failures: number }) {
    const r = [this.registry];
    const labelNames = ['name', 'source'] as const;
    const gauge = (name: string, help: string): void => {
      this.g[name] = new Gauge({ name, help, labelNames, registers: r });
      this.perContainer.push(this.g[name]);
    };
    const counter = (name: string, help: string): void => {
      this.g[name] = new Counter({ name, help, labelNames, registers: r });
      this.perContainer.push(this.g[name]);
    };
    counter('container_cpu_usage_seconds_total', 'Cumulative CPU time consumed, in seconds.');
    counter('container_cpu_cfs_periods_total', 'Number of elapsed enforcement period intervals.');
    counter('container_cpu_cfs_throttled_periods_total', 'Number of throttled period intervals.');
    counter('container_cpu_cfs_throttled_seconds_total', 'Total time duration the container has been throttled.');
    gauge('container_memory_usage_bytes', 'Current memory usage in bytes, including all memory regardless of when it was accessed.');
    gauge('container_memory_working_set_bytes', 'Current working set in bytes (usage minus inactive file cache).');
    gauge('container_memory_swap', 'Container swap usage in bytes.');
    counter('container_oom_events_total', 'Count of out of memory events observed for the container.');
    gauge('container_spec_memory_limit_bytes', 'Memory limit for the container (0: none).');
    gauge('container_spec_cpu_quota', 'CPU quota of the container, in µs per period (0: none).');
    gauge('container_spec_cpu_period', 'CPU period of the container, in µs.');
    gauge('container_processes', 'Number of processes running inside the container.');
    counter('container_fs_reads_bytes_total', 'Cumulative count of bytes read from block devices.');
    counter('container_fs_writes_bytes_total', 'Cumulative count of bytes written to block devices.');
    gauge('container_start_time_seconds', 'Start time of the container since unix epoch in seconds.');
    counter('pocker_container_restarts_total', 'Restarts of the container since it was created.');
    gauge('pocker_container_backoff_seconds', 'Seconds until the next restart of the container (0: none waiting).');
    this.network = {
      rx: new Counter({
        name: 'container_network_receive_bytes_total',
        help: 'Cumulative count of bytes received.',
        labelNames: [...labelNames, 'interface'],
        registers: r,
      }),
      tx: new Counter({
        name: 'container_network_transmit_bytes_total',
        help: 'Cumulative count of bytes transmitted.',
        labelNames: [...labelNames, 'interface'],
        registers: r,
      }),
    };
    this.state = new Gauge({
      name: 'pocker_container_state',
      help: `Where the container is: 1 for its state, 0 for the others (${CONTAINER_STATES.join(', ')}).`,
      labelNames: [...labelNames, 'state'],
      registers: r,
    });
    this.health = new Gauge({
      name: 'pocker_container_health',
      help: 'Health of the container with a health check: 1 for its status, 0 for the others.',
      labelNames: [...labelNames, 'status'],
      registers: r,
    });
    this.updateAvailable = new Gauge({
      name: 'pocker_image_update_available',
      help: 'Containers with autoUpdate: 1 when their tag names a digest they do not run yet (and not marked bad).',
      labelNames,
      registers: r,
    });
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
    for (const m of this.perContainer) m.reset();
    this.network.rx.reset();
    this.network.tx.reset();
    this.state.reset();
    this.health.reset();
    this.updateAvailable.reset();
    this.specErrors.reset();
    this.revision.reset();
    const set = (name: string, labels: Record<Labels, string>, v: number): void => {
      const m = this.g[name]!;
      if (m instanceof Counter) m.inc(labels, v);
      else m.set(labels, v);
    };
    for (const c of s.containers) {
      const l = { name: c.name, source: c.source };
      for (const st of CONTAINER_STATES) this.state.set({ ...l, state: st }, st === c.state ? 1 : 0);
      const h = c.actual.health?.status;
      if (c.actual.record?.spec.healthcheck)
        for (const status of ['healthy', 'unhealthy', 'starting'] as const) this.health.set({ ...l, status }, h === status ? 1 : 0);
      set('pocker_container_restarts_total', l, c.actual.record?.restartCount ?? 0);
      set('pocker_container_backoff_seconds', l, c.backoffSeconds);
      if (c.updateAvailable !== null) this.updateAvailable.set(l, c.updateAvailable ? 1 : 0);
      if (c.actual.pids && c.actual.initAlive) set('container_start_time_seconds', l, c.actual.pids.startedAtMs / 1000);
      const u = c.usage;
      if (!u) continue;
      set('container_cpu_usage_seconds_total', l, u.cpuNs / 1e9);
      set('container_cpu_cfs_periods_total', l, u.cpuPeriods);
      set('container_cpu_cfs_throttled_periods_total', l, u.cpuThrottledPeriods);
      set('container_cpu_cfs_throttled_seconds_total', l, u.cpuThrottledNs / 1e9);
      set('container_memory_usage_bytes', l, u.memoryBytes);
      set('container_memory_working_set_bytes', l, workingSet(u));
      if (u.swapBytes !== null) set('container_memory_swap', l, u.swapBytes);
      set('container_oom_events_total', l, u.oomKills);
      set('container_spec_memory_limit_bytes', l, u.memoryLimit === 'max' ? 0 : u.memoryLimit);
      set('container_spec_cpu_quota', l, u.cpuQuotaUs === 'max' ? 0 : u.cpuQuotaUs);
      set('container_spec_cpu_period', l, u.cpuPeriodUs);
      set('container_processes', l, u.pids);
      set('container_fs_reads_bytes_total', l, u.ioReadBytes);
      set('container_fs_writes_bytes_total', l, u.ioWriteBytes);
      if (c.net) {
        this.network.rx.inc({ ...l, interface: 'eth0' }, c.net.rx);
        this.network.tx.inc({ ...l, interface: 'eth0' }, c.net.tx);
      }
    }
    this.specErrors.set({ dir: s.dir }, s.specErrors);
    for (const src of s.sources) if (src.lastApplied) this.revision.set({ dir: src.dir, revision: src.lastApplied.revision ?? '' }, 1);
  }
}
