/**
 * Probes as pocker's one health check: a livenessProbe restarts the container when unhealthy
 * (onUnhealthy: restart), a readinessProbe only reports it (onUnhealthy: none); a startupProbe of
 * the same check gives the start period. Kubernetes' defaults apply where a probe is silent
 * (timeoutSeconds 1).
 */
import { stableJson } from '../hash.js';
import { DEFAULTS } from '../normalize.js';
import { ANNOTATION } from './annotations.js';
import type { SpecBuilder } from './builder.js';
import type { ContainerAnnotations } from './context.js';
import type { Cursor } from './cursor.js';
import { expand } from './expansion.js';
import { NOT_SUPPORTED, PROBE } from './rules.js';

/** Kubernetes' probe timeout when a probe sets none. */
const KUBE_TIMEOUT_SECONDS = 1;
const KUBE_PERIOD_SECONDS = 10;
const KUBE_FAILURE_THRESHOLD = 3;

/** A port by number or by the name of one of the container's ports. */
function portOf(at: Cursor, names: ReadonlyMap<string, number>): number | undefined {
  if (typeof at.value === 'number') return at.int();
  const s = at.string();
  if (s === undefined) {
    if (!at.present) at.refuse('is missing');
    return undefined;
  }
  if (/^[0-9]+$/.test(s)) return Number(s);
  const n = names.get(s);
  if (n === undefined) at.fail(`${JSON.stringify(s)} names no port of the container`);
  return n;
}

/** The check of a probe as pocker's exec, http or tcp. */
function handler(p: Cursor, names: ReadonlyMap<string, number>, vars: ReadonlyMap<string, string>): Record<string, unknown> | null {
  const kinds = ['exec', 'httpGet', 'tcpSocket'].filter((k) => p.at(k).present);
  if (kinds.length !== 1) {
    if (!p.at('grpc').present) p.fail(kinds.length ? `gives ${kinds.join(' and ')}: give one` : 'needs exec, httpGet or tcpSocket');
    return null;
  }
  if (kinds[0] === 'exec') {
    const e = p.at('exec');
    e.keys({ command: true }, NOT_SUPPORTED);
    const command = e.at('command').strings();
    if (command === undefined) {
      if (!e.at('command').present) e.refuse('needs a command');
      return null;
    }
    return { exec: command.map((a) => expand(a, (n) => vars.get(n))) };
  }
  if (kinds[0] === 'httpGet') {
    const h = p.at('httpGet');
    h.keys(
      {
        path: true,
        port: true,
        scheme: true,
        host: "is not supported: pocker's check connects to 127.0.0.1 inside the container's network namespace",
        httpHeaders: 'is not supported: pocker sends a plain GET',
      },
      NOT_SUPPORTED,
    );
    const scheme = h.at('scheme').string();
    if (scheme !== undefined && scheme !== 'HTTP') h.at('scheme').fail(`${scheme} is not supported: pocker checks plain HTTP`);
    const port = portOf(h.at('port'), names);
    const path = h.at('path').string();
    return port === undefined ? null : { http: { port, ...(path !== undefined && { path }) } };
  }
  const t = p.at('tcpSocket');
  t.keys(
    { port: true, host: "is not supported: pocker's check connects to 127.0.0.1 inside the container's network namespace" },
    NOT_SUPPORTED,
  );
  const port = portOf(t.at('port'), names);
  return port === undefined ? null : { tcp: { port } };
}

/** A probe's whole-seconds field (at least `min`), or undefined. */
function seconds(p: Cursor, key: string, min: number): number | undefined {
  const n = p.at(key).int();
  if (n !== undefined && n < min) {
    p.at(key).refuse(`must be at least ${min}`);
    return undefined;
  }
  return n;
}

/** Reads the probes of a Pod's container into `healthcheck`. */
export function importProbes(
  c: Cursor,
  b: SpecBuilder,
  names: ReadonlyMap<string, number>,
  vars: ReadonlyMap<string, string>,
  ann: ContainerAnnotations,
): void {
  const live = c.at('livenessProbe');
  const ready = c.at('readinessProbe');
  const start = c.at('startupProbe');
  for (const p of [live, ready, start]) {
    p.keys(PROBE, NOT_SUPPORTED);
    p.map();
    const success = p.at('successThreshold').int();
    if (success !== undefined && success !== 1)
      p.at('successThreshold').refuse('must be 1: pocker counts a container healthy after one success');
  }
  const main = live.present ? live : ready.present ? ready : null;
  const extra = ann.json(ANNOTATION.healthcheck);
  if (!main) {
    if (start.present)
      start.refuse('is not supported without a livenessProbe or readinessProbe: pocker checks health all along, not only until it started');
    if (extra) extra.at.refuse('has no probe to apply to');
    return;
  }
  if (live.present && ready.present && stableJson(live.value) !== stableJson(ready.value))
    ready.refuse('differs from livenessProbe: pocker runs one health check (give the same probe, or only one of them)');
  const check = handler(main, names, vars);
  if (!check) return;
  const hc: Record<string, unknown> = { ...check };
  const period = seconds(main, 'periodSeconds', 1);
  if (period !== undefined) hc.interval = `${period}s`;
  const timeout = seconds(main, 'timeoutSeconds', 1) ?? KUBE_TIMEOUT_SECONDS;
  if (timeout * 1000 !== DEFAULTS.health.timeoutMs) hc.timeout = `${timeout}s`;
  const retries = seconds(main, 'failureThreshold', 1);
  if (retries !== undefined) hc.retries = retries;
  let startPeriod = seconds(main, 'initialDelaySeconds', 0) ?? 0;
  if (start.present) {
    const same = handler(start, names, vars);
    if (same && stableJson(same) !== stableJson(check))
      start.refuse(`checks something else than ${main.field}: pocker's start period is a time of the same check (give it the same check)`);
    const startTimeout = seconds(start, 'timeoutSeconds', 1) ?? KUBE_TIMEOUT_SECONDS;
    if (startTimeout !== timeout)
      start.at('timeoutSeconds').refuse(`differs from ${main.field}.timeoutSeconds: pocker's check has one timeout`);
    startPeriod +=
      (seconds(start, 'initialDelaySeconds', 0) ?? 0) +
      (seconds(start, 'periodSeconds', 1) ?? KUBE_PERIOD_SECONDS) * (seconds(start, 'failureThreshold', 1) ?? KUBE_FAILURE_THRESHOLD);
  }
  if (startPeriod > 0) hc.startPeriod = `${startPeriod}s`;
  if (!live.present) hc.onUnhealthy = 'none';
  b.set(['healthcheck'], hc, main.place);
  if (period !== undefined) b.from(['healthcheck', 'interval'], main.at('periodSeconds').place);
  if (main.at('timeoutSeconds').present) b.from(['healthcheck', 'timeout'], main.at('timeoutSeconds').place);
  if (retries !== undefined) b.from(['healthcheck', 'retries'], main.at('failureThreshold').place);
  if (start.present) b.from(['healthcheck', 'startPeriod'], start.place);
  if (!extra) return;
  const v = extra.value as Record<string, unknown>;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    extra.at.refuse('must be a JSON object (interval, timeout, startPeriod, expectStatus)');
    return;
  }
  for (const [k, val] of Object.entries(v)) {
    if (!['interval', 'timeout', 'startPeriod', 'expectStatus'].includes(k)) {
      extra.at.fail(`${k} is not a field it carries (interval, timeout, startPeriod, expectStatus)`);
      continue;
    }
    if (k === 'expectStatus') {
      if (!check.http) extra.at.fail('expectStatus needs an httpGet probe');
      else b.set(['healthcheck', 'http', 'expectStatus'], val, extra.at.place);
    } else b.set(['healthcheck', k], val, extra.at.place);
  }
}
