// 1. Start N containers: one `pocker reconcile --once` over N specs vs N x (overlay mount +
// `runc run -d`) of equivalent bundles, serially and `nproc` at a time, and N x `podman run -d`
// of the same layer, back to back in the same run. N of 1000 and more run once, without podman
// (about two minutes for each 1000 here), to show the cost per container stays flat.
import { cpus } from 'node:os';
import { PockerInstance } from '../lib/pocker.mjs';
import { PodmanPeer, podmanMissing } from '../lib/podman.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, peerHeader, round, timeAsync, timeSync } from '../lib/stats.mjs';

export async function startSuite(env, { counts, runs }) {
  const rows = [];
  const nproc = cpus().length;
  const noPodman = podmanMissing();
  const large = (n) => n >= 1000;
  await warmCodeCache(env);
  for (const n of counts) {
    const s = { pocker: [], runc: [], runcParallel: [], podman: [] };
    for (let run = 0; run < (large(n) ? 1 : runs); run++) {
      const names = Array.from({ length: n }, (_, i) => `c${i}`);
      const p = new PockerInstance(env, `start-${n}-${run}`);
      try {
        for (const name of names) p.writeSpec(name);
        let out;
        s.pocker.push(timeSync(() => (out = p.cli(['reconcile', '--once']))));
        const started = names.filter((name) => p.pids(name)).length;
        if (started !== n) throw new Error(`pocker started ${started} of ${n}: ${out.stdout.slice(-1000)}`);
      } finally {
        await p.close();
      }
      const r = new RuncFleet(env, `start-${n}-${run}`);
      try {
        r.prepare(names);
        s.runc.push(timeSync(() => names.forEach((id) => r.start(id))));
      } finally {
        r.close();
      }
      const rp = new RuncFleet(env, `startp-${n}-${run}`);
      try {
        rp.prepare(names);
        s.runcParallel.push(await timeAsync(() => rp.startParallel(names, nproc)));
      } finally {
        rp.close();
      }
      if (!noPodman && !large(n)) {
        const pm = new PodmanPeer(env, `start-${n}-${run}`);
        try {
          s.podman.push(timeSync(() => names.forEach((name) => pm.start(name))));
        } finally {
          pm.close();
        }
      }
    }
    const m = (xs) => (xs.length ? round(median(xs)) : null);
    rows.push({
      n,
      runs: s.pocker.length,
      pocker: { medianMs: m(s.pocker), p99Ms: round(p99(s.pocker)) },
      runc: { medianMs: m(s.runc), p99Ms: round(p99(s.runc)) },
      runcParallel: { medianMs: m(s.runcParallel) },
      podman: { medianMs: m(s.podman) },
      ratio: round(median(s.pocker) / median(s.runc), 3),
      ratioParallel: round(median(s.pocker) / median(s.runcParallel), 3),
      ratioPodman: s.podman.length ? round(median(s.pocker) / median(s.podman), 3) : null,
      samples: s,
    });
  }
  const at100 = rows.find((r) => r.n === 100);
  const chart = rows.map((r) => ({
    label: `start ${r.n}`,
    bars: [
      { series: 'pocker', ms: r.pocker.medianMs },
      { series: 'runc (serial)', ms: r.runc.medianMs },
      { series: `runc (${nproc} at a time)`, ms: r.runcParallel.medianMs },
      { series: 'podman', ms: r.podman.medianMs },
    ],
  }));
  return {
    name: 'start',
    chart,
    title: `Start N containers: one \`pocker reconcile --once\` vs N x (overlay mount + \`runc run -d\`) serially and ${nproc} at a time, and N x \`podman run -d\``,
    header: peerHeader(nproc),
    table: rows.map((r) => [
      r.n,
      r.runs,
      r.pocker.medianMs,
      r.pocker.p99Ms,
      r.runc.medianMs,
      r.runcParallel.medianMs,
      r.podman.medianMs ?? '-',
      `${r.ratio}x`,
      `${r.ratioParallel}x`,
      r.ratioPodman === null ? '-' : `${r.ratioPodman}x`,
    ]),
    notes: [
      `pocker per container: ${rows.map((r) => `${round(r.pocker.medianMs / r.n, 2)} ms at ${r.n}`).join(', ')}; runc serial: ${rows
        .map((r) => `${round(r.runc.medianMs / r.n, 2)} ms at ${r.n}`)
        .join(', ')}.`,
      ...(rows.some((r) => large(r.n)) ? ['N of 1000 and more: one run, podman not run.'] : []),
      ...(noPodman ? [`podman: ${noPodman}`] : []),
      'podman runs with --ulimit nofile=1024:1024 --ulimit nproc=1024:1024: root here lacks CAP_SYS_RESOURCE and podman would raise them otherwise.',
    ],
    targets: at100
      ? [
          { what: 'start N=100, pocker/runc serial', value: at100.ratio, target: 0.2, unit: 'x', ok: at100.ratio <= 0.2 },
          {
            what: `start N=100, pocker/runc ${nproc} at a time`,
            value: at100.ratioParallel,
            target: 0.4,
            unit: 'x',
            ok: at100.ratioParallel <= 0.4,
          },
        ]
      : [],
    rows,
  };
}

/**
 * Untimed: bin/pocker's code cache of a verb fills over its first runs after a build (each adds
 * what it compiled), so a create and a removal pass run a few times first and the suite times the
 * steady state a user's scripts see.
 */
async function warmCodeCache(env) {
  const p = new PockerInstance(env, 'start-warm');
  try {
    for (let i = 0; i < 5; i++) {
      p.writeSpec('warm');
      p.cli(['reconcile', '--once']);
      p.removeSpec('warm');
      p.cli(['reconcile', '--once']);
    }
  } finally {
    await p.close();
  }
}
