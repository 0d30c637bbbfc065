// 12. What a user namespace per container costs: N containers started by one `pocker reconcile
// --once` with `userns: auto` (the default: own range, idmapped layers, locked mounts) against the
// same with `userns: host`, and `pocker run --rm LAYER true` both ways; runs alternate, so both
// see the same machine.
import { spawnSync } from 'node:child_process';
import { PockerInstance } from '../lib/pocker.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

const TARGET = 1.15;

export async function usernsSuite(env, { counts, runs, tries }) {
  const rows = [];
  const targets = [];
  for (const n of counts) {
    const s = { auto: [], host: [] };
    for (let run = 0; run < runs; run++) {
      for (const userns of run % 2 ? ['host', 'auto'] : ['auto', 'host']) {
        const p = new PockerInstance(env, `userns-${userns}-${n}-${run}`);
        try {
          const names = Array.from({ length: n }, (_, i) => `c${i}`);
          for (const name of names) p.writeSpec(name, {}, { userns });
          let out;
          s[userns].push(timeSync(() => (out = p.cli(['reconcile', '--once']))));
          const started = names.filter((name) => p.pids(name)).length;
          if (started !== n) throw new Error(`pocker started ${started} of ${n} (userns: ${userns}): ${out.stdout.slice(-1000)}`);
        } finally {
          await p.close();
        }
      }
    }
    const ratio = round(median(s.auto) / median(s.host), 3);
    rows.push([`start ${n}`, runs, round(median(s.auto)), round(p99(s.auto)), round(median(s.host)), round(p99(s.host)), `${ratio}x`]);
    targets.push({ what: `start ${n}: userns auto / host`, value: ratio, target: TARGET, unit: 'x', ok: ratio <= TARGET });
  }
  const run = { auto: [], host: [] };
  const p = new PockerInstance(env, 'userns-run');
  try {
    for (let i = 0; i < tries; i++) {
      for (const userns of i % 2 ? ['host', 'auto'] : ['auto', 'host']) {
        let r;
        run[userns].push(
          timeSync(
            () => (r = spawnSync(env.pockerBin, ['run', ...p.args, '--rm', '--userns', userns, env.layer, 'true'], { encoding: 'utf8' })),
          ),
        );
        if (r.status !== 0) throw new Error(`pocker run --userns ${userns} exited ${r.status}: ${r.stderr}`);
      }
    }
  } finally {
    await p.close();
  }
  const ratio = round(median(run.auto) / median(run.host), 3);
  rows.push([
    'run --rm true',
    tries,
    round(median(run.auto)),
    round(p99(run.auto)),
    round(median(run.host)),
    round(p99(run.host)),
    `${ratio}x`,
  ]);
  targets.push({ what: 'pocker run --rm: userns auto / host', value: ratio, target: TARGET, unit: 'x', ok: ratio <= TARGET });
  return {
    name: 'userns',
    chart: rows.map((r) => ({
      label: `${r[0]} (auto)`,
      bars: [
        { series: 'pocker', ms: r[2] },
        { series: 'userns: host', ms: r[4] },
      ],
    })),
    title: 'A user namespace per container: `userns: auto` (own range, idmapped layers) vs `userns: host`, same pocker, alternating runs',
    header: ['what', 'runs', 'auto median (ms)', 'auto p99 (ms)', 'host median (ms)', 'host p99 (ms)', 'auto / host'],
    table: rows,
    notes: [
      "No layer is copied or chowned for auto: each lower layer is an idmapped mount of itself, made in the container's own mount namespace.",
    ],
    targets,
    rows: { counts, run },
  };
}
