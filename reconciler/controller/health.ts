import type { ActualContainer } from '../observe/types.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { describeError } from '../host/errors.js';
import { EXEC_OUTPUT_LIMIT, type ExecResult } from '../host/execProcess.js';
import type { Host } from '../host/host.js';
import { execConfig } from '../runtime/exec.js';
import type { ContainerSpec, HealthCheck } from '../spec/types.js';
import { containerPaths, type InstanceDirs } from '../state/layout.js';
import type { HealthRecord } from '../state/records.js';
import type { Logger } from '../log/logger.js';
import type { EventSink } from '../state/events.js';

/** Where health checks run and whom to tell. */
export interface HealthOptions {
  host: Host;
  dirs: InstanceDirs;
  driver: CgroupDriver;
  monitorBinary: string;
  log: Logger;
  /** Called when a container turns unhealthy (its worker plans the restart). */
  onUnhealthy: (name: string) => void;
  /** Called whenever a container's health status changes (the containers that wait on it look again). */
  onStatus?: (name: string, status: HealthRecord['status']) => void;
  /** Where a turn to healthy or unhealthy is told. */
  events?: EventSink;
}

/** Whether an HTTP status means healthy: the expected one, else any 2xx or 3xx (Kubernetes' httpGet). */
export function healthyStatus(status: number, expect?: number): boolean {
  return expect !== undefined ? status === expect : status >= 200 && status < 400;
}

/** Result of one check: exit code (-1 when it timed out or could not run) and the start of its output. */
export type CheckResult = ExecResult;

/** The next health state after a check (pure). */
export function nextHealth(
  prev: HealthRecord | null,
  check: CheckResult,
  hc: HealthCheck,
  initPid: number,
  startedAtMs: number,
  now: number,
): HealthRecord {
  const inStartPeriod = now - startedAtMs < hc.startPeriodMs;
  const ok = check.exitCode === 0;
  const streak = ok ? 0 : inStartPeriod ? (prev?.failingStreak ?? 0) : (prev?.failingStreak ?? 0) + 1;
  let status: HealthRecord['status'];
  if (ok) status = 'healthy';
  else if (streak >= hc.retries) status = 'unhealthy';
  else status = prev?.status === 'healthy' ? 'healthy' : 'starting';
  return {
    status,
    failingStreak: streak,
    initPid,
    lastCheckAtMs: now,
    lastExitCode: check.exitCode,
    lastOutput: check.output.slice(0, EXEC_OUTPUT_LIMIT),
  };
}

/**
 * Runs each container's health check every interval, inside the container (its namespaces,
 * cgroups, environment), records the state in health.json, and reports a container that turned
 * unhealthy. One timer per container; a new run of the container starts over.
 */
export class HealthChecker {
  private readonly timers = new Map<string, { initPid: number; timer: NodeJS.Timeout; running: boolean }>();
  /** Checks under way, so stopping waits until each one is over and everything it started is gone. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly o: HealthOptions) {}

  /** Makes sure a running container's checks are scheduled. */
  ensure(a: ActualContainer, spec: ContainerSpec): void {
    const hc = spec.healthcheck;
    if (!hc || !a.pids) return;
    const cur = this.timers.get(a.name);
    if (cur && cur.initPid === a.pids.initPid) return;
    this.stop(a.name);
    const entry = {
      initPid: a.pids.initPid,
      running: false,
      timer: setInterval(() => {
        const p = this.check(a, spec);
        this.inFlight.add(p);
        void p.finally(() => this.inFlight.delete(p));
      }, hc.intervalMs),
    };
    this.timers.set(a.name, entry);
  }

  stop(name: string): void {
    const t = this.timers.get(name);
    if (t) clearInterval(t.timer);
    this.timers.delete(name);
  }

  /** Stops every container's checks and waits for the ones under way to end (their processes killed). */
  async stopAll(): Promise<void> {
    for (const name of [...this.timers.keys()]) this.stop(name);
    await Promise.all([...this.inFlight]);
  }

  /**
   * Runs the check once, with its timeout: an exec check inside the container, in a child cgroup
   * of the container's (when it ends or times out everything it started there is killed); an http
   * or tcp check from inside the container's network namespace (nothing runs in the container).
   */
  async run(a: ActualContainer, spec: ContainerSpec, hc: HealthCheck): Promise<CheckResult> {
    if (!hc.exec) {
      const init = { pid: a.pids!.initPid, startTime: a.pids!.initStart };
      const port = (hc.http ?? hc.tcp)!.port;
      const r = await this.o.host.probe(init, { port, ...(hc.http && { httpPath: hc.http.path }) }, hc.timeoutMs);
      if (!r.connected) return { exitCode: -1, output: r.error ?? `no connection to port ${port}` };
      if (!hc.http) return { exitCode: 0, output: `port ${port} accepted a connection` };
      if (r.status === undefined) return { exitCode: -1, output: r.error ?? 'no HTTP status' };
      return { exitCode: healthyStatus(r.status, hc.http.expectStatus) ? 0 : 1, output: `GET ${hc.http.path}: HTTP ${r.status}` };
    }
    const group = await this.o.driver.checkGroup(a.name, this.o.host);
    const config = execConfig(spec, a.pids!, group.placement, { argv: hc.exec }, !!a.record?.userns);
    try {
      return await this.o.host.runExec(this.o.monitorBinary, config, hc.timeoutMs);
    } finally {
      await group.kill();
    }
  }

  private async check(a: ActualContainer, spec: ContainerSpec): Promise<void> {
    const entry = this.timers.get(a.name);
    if (!entry || entry.running) return;
    entry.running = true;
    try {
      await this.checkOnce(a, spec, () => this.timers.get(a.name) === entry);
    } finally {
      entry.running = false;
    }
  }

  /**
   * One check of a running container now, its result recorded in health.json (and told to
   * onUnhealthy and onStatus); `current` says whether the result is still wanted when it comes
   * (the container may have been restarted meanwhile). Returns the new health, or null.
   */
  async checkOnce(a: ActualContainer, spec: ContainerSpec, current: () => boolean = () => true): Promise<HealthRecord | null> {
    const hc = spec.healthcheck;
    if (!hc || !a.pids) return null;
    const initPid = a.pids.initPid;
    try {
      const paths = containerPaths(this.o.dirs, a.name);
      const result = await this.run(a, spec, hc);
      if (!current()) return null;
      const prevText = this.o.host.readFile(paths.health);
      let prev: HealthRecord | null = null;
      try {
        prev = prevText ? (JSON.parse(prevText) as HealthRecord) : null;
      } catch {
        prev = null;
      }
      if (prev && prev.initPid !== initPid) prev = null;
      const next = nextHealth(prev, result, hc, initPid, a.pids.startedAtMs, Date.now());
      this.o.host.writeFileAtomic(paths.health, `${JSON.stringify(next)}\n`, 0o600);
      if (next.status !== prev?.status) {
        this.o.log.info({ container: a.name, health: next.status, exitCode: result.exitCode }, `${a.name} is ${next.status}`);
        this.o.onStatus?.(a.name, next.status);
        if (next.status !== 'starting')
          this.o.events?.emit({
            type: next.status,
            name: a.name,
            ...(a.record && { source: a.record.source.dir }),
            exitCode: result.exitCode,
            output: result.output,
            failingStreak: next.failingStreak,
          });
      }
      if (next.status === 'unhealthy' && prev?.status !== 'unhealthy') this.o.onUnhealthy(a.name);
      return next;
    } catch (e) {
      this.o.log.warn({ container: a.name, error: describeError(e) }, `health check of ${a.name}: ${describeError(e)}`);
      return null;
    }
  }
}
