import { describe, expect, it } from 'vitest';
import { ControllerMetrics } from '../../reconciler/controller/metrics.js';
import { runningView, snapshotOf } from '../helpers/snapshots.js';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+-]+|[Nn]a[Nn]|\+Inf|-Inf)$/;

function series(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m || m[1] !== name) continue;
    // Label order means nothing to Prometheus: compared in the order name, source, then the rest.
    const pairs = (m[2] ?? '')
      .replace(/^\{|\}$/g, '')
      .split(',')
      .filter(Boolean);
    const rank = (p: string): number => (p.startsWith('name=') ? 0 : p.startsWith('source=') ? 1 : 2);
    pairs.sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
    out.set(pairs.length ? `{${pairs.join(',')}}` : '', Number(m[3]));
  }
  return out;
}

describe('controller metrics', () => {
  it('exposes cAdvisor names with name and source labels, read from the snapshot', async () => {
    const m = new ControllerMetrics();
    const text = await m.expose(snapshotOf([runningView('web')]));
    for (const line of text.split('\n')) if (line && !line.startsWith('#')) expect(line).toMatch(SAMPLE);
    const l = '{name="web",source="/specs"}';
    expect(series(text, 'container_memory_usage_bytes').get(l)).toBe(48 * 2 ** 20);
    expect(series(text, 'container_memory_working_set_bytes').get(l)).toBe(40 * 2 ** 20);
    expect(series(text, 'container_cpu_usage_seconds_total').get(l)).toBe(12.5);
    expect(series(text, 'container_cpu_cfs_throttled_periods_total').get(l)).toBe(7);
    expect(series(text, 'container_cpu_cfs_throttled_seconds_total').get(l)).toBe(0.35);
    expect(series(text, 'container_spec_cpu_quota').get(l)).toBe(50_000);
    expect(series(text, 'container_spec_memory_limit_bytes').get(l)).toBe(64 * 2 ** 20);
    expect(series(text, 'container_processes').get(l)).toBe(3);
    expect(series(text, 'container_start_time_seconds').get(l)).toBe(0.003);
    expect(text).toMatch(/# TYPE container_cpu_usage_seconds_total counter/);
    expect(text).toMatch(/# TYPE container_memory_usage_bytes gauge/);
    expect(text).toMatch(/# TYPE pocker_reconcile_duration_seconds histogram/);
    expect(text).toMatch(/^process_cpu_seconds_total /m);
  });

  it('one state series per state (1 for the one it is in), health only with a health check', async () => {
    const m = new ControllerMetrics();
    const checked = runningView('api', { healthcheck: { tcp: { port: 80 } } }, { health: { status: 'unhealthy' } as never });
    const exited = runningView(
      'job',
      { restart: 'never' },
      {
        initAlive: false,
        exit: { exitCode: 1, signal: 0, oomKilled: true, oomKillCount: 1, startedAtMs: 1, finishedAtMs: 2 },
      },
    );
    const text = await m.expose(snapshotOf([checked, exited]));
    const state = series(text, 'pocker_container_state');
    expect(state.get('{name="api",source="/specs",state="running"}')).toBe(1);
    expect(state.get('{name="api",source="/specs",state="exited"}')).toBe(0);
    expect(state.get('{name="job",source="/specs",state="exited"}')).toBe(1);
    expect([...state.keys()].filter((k) => k.includes('"job"'))).toHaveLength(8);
    const health = series(text, 'pocker_container_health');
    expect(health.get('{name="api",source="/specs",status="unhealthy"}')).toBe(1);
    expect(health.get('{name="api",source="/specs",status="healthy"}')).toBe(0);
    expect([...health.keys()].some((k) => k.includes('"job"'))).toBe(false);
    // No cgroup: no usage series.
    expect(series(text, 'container_memory_usage_bytes').has('{name="job",source="/specs"}')).toBe(false);
  });

  it('a container gone from the snapshot is gone from the next scrape; events, actions and passes are counted', async () => {
    const m = new ControllerMetrics();
    await m.expose(snapshotOf([runningView('a'), runningView('b')]));
    m.emit({ type: 'oom', name: 'a' });
    m.emit({ type: 'oom', name: 'a' });
    m.countAction('restart');
    m.observePass('resync', 0.02);
    const text = await m.expose(snapshotOf([runningView('a')], { specErrors: 2 }));
    expect([...series(text, 'container_memory_usage_bytes').keys()]).toEqual(['{name="a",source="/specs"}']);
    expect(series(text, 'pocker_events_total').get('{type="oom"}')).toBe(2);
    expect(series(text, 'pocker_events_total').get('{type="restart"}')).toBe(0);
    expect(series(text, 'pocker_plan_actions_total').get('{action="restart"}')).toBe(1);
    expect(series(text, 'pocker_reconcile_duration_seconds_count').get('{kind="resync"}')).toBe(1);
    expect(series(text, 'pocker_spec_errors').get('{dir="/specs"}')).toBe(2);
  });
});
