/**
 * The health check as probes: `onUnhealthy: restart` a livenessProbe, `none` a readinessProbe;
 * exec, http and tcp as exec, httpGet and tcpSocket; interval, timeout and retries as
 * periodSeconds, timeoutSeconds and failureThreshold; a start period as a startupProbe of the
 * same check. Kubernetes counts whole seconds: other durations are rounded up there and kept
 * exactly in `pocker.io/healthcheck`.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import { DEFAULTS } from '../spec/normalize.js';
import { ANNOTATION } from '../spec/kube/annotations.js';
import { escapeExpansion, resolvesIn } from '../spec/kube/expansion.js';
import { formatExactDuration } from '../spec/kube/quantity.js';
import type { ContainerContext } from './context.js';

const wholeSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000));

/** Writes the container's probes (its Pod's container only: init containers have none). */
export function exportProbes(ctx: ContainerContext, c: IContainer): void {
  const { d, report, pod, init } = ctx;
  const h = d.user.healthcheck;
  if (!h) return;
  const check: IProbe = h.exec
    ? { exec: { command: h.exec.map((a) => escapeExpansion(a, resolvesIn(d.user.env))) } }
    : h.http
      ? { httpGet: { path: h.http.path ?? '/', port: h.http.port } }
      : { tcpSocket: { port: h.tcp!.port } };
  const exact: Record<string, string | number> = {};
  const probe: IProbe = { ...check };
  if (h.intervalMs !== undefined) {
    probe.periodSeconds = wholeSeconds(h.intervalMs);
    if (h.intervalMs % 1000 || h.intervalMs < 1000) exact.interval = formatExactDuration(h.intervalMs);
  }
  const timeoutMs = h.timeoutMs ?? DEFAULTS.health.timeoutMs;
  probe.timeoutSeconds = wholeSeconds(timeoutMs);
  if (timeoutMs % 1000 || timeoutMs < 1000) exact.timeout = formatExactDuration(timeoutMs);
  if (h.timeoutMs === DEFAULTS.health.timeoutMs)
    report.note(
      d,
      'healthcheck.timeout',
      "5s is pocker's default, which Kubernetes does not share (1s): it is written out, and read back the spec leaves it out (the same check under another spec hash)",
      'differs',
    );
  if (h.retries !== undefined) probe.failureThreshold = h.retries;
  if (h.http?.expectStatus !== undefined) {
    exact.expectStatus = h.http.expectStatus;
    report.warn(
      d,
      'healthcheck.http.expectStatus',
      'Kubernetes takes any status from 200 to 399 as healthy: pocker reads the status back from pocker.io/healthcheck',
    );
  }
  if (h.onUnhealthy === 'none') c.readinessProbe = probe;
  else {
    c.livenessProbe = probe;
    if (h.onUnhealthy === 'restart')
      report.note(
        d,
        'healthcheck.onUnhealthy',
        "restart is pocker's default (a livenessProbe): read back the spec leaves it out (the same check under another spec hash)",
        'differs',
      );
  }
  const start = h.startPeriodMs ?? 0;
  if (h.startPeriodMs === 0)
    report.note(
      d,
      'healthcheck.startPeriod',
      "0s is pocker's default (no startupProbe): read back the spec leaves it out (the same check under another spec hash)",
      'differs',
    );
  if (start > 0) {
    const total = wholeSeconds(start);
    if (start % 1000) exact.startPeriod = formatExactDuration(start);
    const intervalMs = h.intervalMs ?? DEFAULTS.health.intervalMs;
    const every = intervalMs % 1000 === 0 && total % (intervalMs / 1000) === 0 ? intervalMs / 1000 : 1;
    c.startupProbe = { ...check, periodSeconds: every, failureThreshold: total / every, timeoutSeconds: probe.timeoutSeconds };
  }
  const durations = ['interval', 'timeout', 'startPeriod'].filter((k) => exact[k] !== undefined);
  if (durations.length)
    report.warn(
      d,
      'healthcheck',
      `Kubernetes counts probe times in whole seconds: ${durations.map((k) => `${k} ${exact[k]}`).join(', ')} is rounded up there; pocker reads it back from pocker.io/healthcheck`,
    );
  if (Object.keys(exact).length) pod.annotate(ANNOTATION.healthcheck, init, JSON.stringify(exact));
}
