// 4. Watch latency: a spec renamed into the watched dir -> the container's workload running (the
// monitor writes pids.json once the workload is exec'd), with a running `pocker reconcile`.
// Peer: one overlay mount + `runc run -d` by hand, the fastest a user could do it with runc.
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function watchSuite(env, { tries, peerTries }) {
  const p = new PockerInstance(env, 'watch');
  const latencies = [];
  // Where the time goes: the create step as the controller times it, and the rest (the file
  // event, the reload of the dir, the queue, the wait for the pids record).
  const steps = [];
  try {
    await p.startDaemon(['--removal-delay', '50ms']);
    for (let i = 0; i < tries; i++) {
      const name = `lat${i}`;
      const created = p.waitForLog((r) => r.container === name && r.action === 'create', 30_000);
      const t0 = p.renameSpecIn(name);
      while (!p.pids(name)) await sleep(1);
      latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
      steps.push((await created).durationMs);
      p.removeSpec(name);
      await p.until(() => !p.hasState(name), `${name} removed`, 30_000, 5);
      await sleep(20);
    }
  } finally {
    await p.close();
  }
  const r = new RuncFleet(env, 'watch');
  const runc = [];
  try {
    const ids = Array.from({ length: peerTries }, (_, i) => `w${i}`);
    r.prepare(ids);
    for (const id of ids) runc.push(timeSync(() => r.start(id)));
  } finally {
    r.close();
  }
  const p50 = round(median(latencies));
  const p99v = round(p99(latencies));
  const rest = latencies.map((l, i) => l - steps[i]);
  const slowest = latencies
    .map((l, i) => ({ l, step: steps[i], rest: rest[i] }))
    .sort((a, b) => b.l - a.l)
    .slice(0, Math.max(2, Math.ceil(tries / 50)));
  const split = (part) => `${round(median(part))} / ${round(p99(part))}`;
  return {
    name: 'watch',
    chart: [
      {
        label: 'watch latency p50',
        bars: [
          { series: 'pocker', ms: p50 },
          { series: 'runc', ms: round(median(runc)) },
        ],
      },
      {
        label: 'watch latency p99',
        bars: [
          { series: 'pocker', ms: p99v },
          { series: 'runc', ms: round(p99(runc)) },
        ],
      },
    ],
    title: `Watch latency: spec renamed into the dir -> workload running (${tries} tries); peer: one overlay mount + \`runc run -d\``,
    header: ['tries', 'pocker p50 (ms)', 'pocker p99 (ms)', 'max (ms)', 'runc run -d median (ms)', 'runc p99 (ms)', 'ratio (p50)'],
    table: [
      [
        tries,
        p50,
        p99v,
        round(Math.max(...latencies)),
        round(median(runc)),
        round(p99(runc)),
        `${round(median(latencies) / median(runc), 3)}x`,
      ],
    ],
    notes: [
      `where the time goes (p50 / p99): the create step as the controller times it ${split(steps)} ms; the rest (file event, reload, queue, pids record seen) ${split(rest)} ms`,
      `the slowest ${slowest.length}: ${slowest.map((x) => `${round(x.l)} ms (step ${round(x.step)}, rest ${round(x.rest)})`).join(', ')}`,
    ],
    targets: [
      { what: 'watch latency p50', value: p50, target: 20, unit: 'ms', ok: p50 <= 20 },
      { what: 'watch latency p99', value: p99v, target: 30, unit: 'ms', ok: p99v <= 30 },
    ],
    rows: { latencies, steps, runc },
  };
}
