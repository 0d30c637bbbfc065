// 2. Remove N containers: spec files removed + one `pocker reconcile --once` vs `runc kill` +
// `runc delete` (+ the overlay unmount, which pocker does inside its time) per container.
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

export async function removeSuite(env, { n, runs }) {
  const pocker = [];
  const runc = [];
  const names = Array.from({ length: n }, (_, i) => `c${i}`);
  for (let run = 0; run < runs; run++) {
    const p = new PockerInstance(env, `remove-${run}`);
    try {
      for (const name of names) p.writeSpec(name);
      p.cli(['reconcile', '--once']);
      for (const name of names) p.removeSpec(name);
      pocker.push(timeSync(() => p.cli(['reconcile', '--once', '--allow-empty'])));
      const left = names.filter((name) => p.hasState(name));
      if (left.length) throw new Error(`pocker left ${left.length} containers behind`);
    } finally {
      await p.close();
    }
    const r = new RuncFleet(env, `remove-${run}`);
    try {
      r.prepare(names);
      names.forEach((id) => r.start(id));
      runc.push(timeSync(() => names.forEach((id) => r.remove(id))));
    } finally {
      r.close();
    }
  }
  const ratio = round(median(pocker) / median(runc), 3);
  return {
    name: 'remove',
    title: `Remove ${n} containers: spec files removed + one \`pocker reconcile --once\` vs N x (\`runc kill KILL\` + \`runc delete\` + unmount)`,
    header: ['N', 'runs', 'pocker median (ms)', 'pocker p99 (ms)', 'runc median (ms)', 'runc p99 (ms)', 'ratio'],
    table: [[n, runs, round(median(pocker)), round(p99(pocker)), round(median(runc)), round(p99(runc)), `${ratio}x`]],
    targets: [{ what: `remove N=${n}, pocker/runc`, value: ratio, target: 0.5, unit: 'x', ok: ratio <= 0.5 }],
    rows: [{ n, runs, pocker, runc, ratio }],
  };
}
