// 1. Start N containers: one `pocker reconcile --once` over N specs vs N x (overlay mount +
// `runc run -d`) of equivalent bundles, back to back in the same run.
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

export async function startSuite(env, { counts, runs }) {
  const rows = [];
  for (const n of counts) {
    const pocker = [];
    const runc = [];
    for (let run = 0; run < runs; run++) {
      const names = Array.from({ length: n }, (_, i) => `c${i}`);
      const p = new PockerInstance(env, `start-${n}-${run}`);
      try {
        for (const name of names) p.writeSpec(name);
        let out;
        pocker.push(timeSync(() => (out = p.cli(['reconcile', '--once']))));
        const started = names.filter((name) => p.pids(name)).length;
        if (started !== n) throw new Error(`pocker started ${started} of ${n}: ${out.stdout.slice(-1000)}`);
      } finally {
        await p.close();
      }
      const r = new RuncFleet(env, `start-${n}-${run}`);
      try {
        r.prepare(names);
        runc.push(timeSync(() => names.forEach((id) => r.start(id))));
      } finally {
        r.close();
      }
    }
    rows.push({
      n,
      runs,
      pocker: { medianMs: round(median(pocker)), p99Ms: round(p99(pocker)) },
      runc: { medianMs: round(median(runc)), p99Ms: round(p99(runc)) },
      ratio: round(median(pocker) / median(runc), 3),
      samples: { pocker, runc },
    });
  }
  const at100 = rows.find((r) => r.n === 100);
  return {
    name: 'start',
    title: 'Start N containers: one `pocker reconcile --once` vs N x (overlay mount + `runc run -d`)',
    header: ['N', 'runs', 'pocker median (ms)', 'pocker p99 (ms)', 'runc median (ms)', 'runc p99 (ms)', 'ratio'],
    table: rows.map((r) => [r.n, r.runs, r.pocker.medianMs, r.pocker.p99Ms, r.runc.medianMs, r.runc.p99Ms, `${r.ratio}x`]),
    targets: at100 ? [{ what: 'start N=100, pocker/runc', value: at100.ratio, target: 0.25, unit: 'x', ok: at100.ratio <= 0.25 }] : [],
    rows,
  };
}
