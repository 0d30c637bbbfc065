// 2. Remove N containers: spec files removed + one `pocker reconcile --once` vs `runc kill` + one
// `runc delete` once the init is gone (+ the overlay unmount, which pocker does inside its time)
// per container, serially and `nproc` at a time, and N x `podman rm -f -t 0`.
import { cpus } from 'node:os';
import { PockerInstance } from '../lib/pocker.mjs';
import { PodmanPeer, podmanMissing } from '../lib/podman.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, peerHeader, round, timeAsync, timeSync } from '../lib/stats.mjs';

export async function removeSuite(env, { n, runs }) {
  const s = { pocker: [], runc: [], runcParallel: [], podman: [] };
  const nproc = cpus().length;
  const noPodman = podmanMissing();
  const names = Array.from({ length: n }, (_, i) => `c${i}`);
  for (let run = 0; run < runs; run++) {
    const p = new PockerInstance(env, `remove-${run}`);
    try {
      for (const name of names) p.writeSpec(name);
      p.cli(['reconcile', '--once']);
      for (const name of names) p.removeSpec(name);
      s.pocker.push(timeSync(() => p.cli(['reconcile', '--once', '--allow-empty'])));
      const left = names.filter((name) => p.hasState(name));
      if (left.length) throw new Error(`pocker left ${left.length} containers behind`);
    } finally {
      await p.close();
    }
    const r = new RuncFleet(env, `remove-${run}`);
    try {
      r.prepare(names);
      names.forEach((id) => r.start(id));
      s.runc.push(timeSync(() => names.forEach((id) => r.remove(id))));
    } finally {
      r.close();
    }
    const rp = new RuncFleet(env, `removep-${run}`);
    try {
      rp.prepare(names);
      await rp.startParallel(names, nproc);
      s.runcParallel.push(await timeAsync(() => rp.removeParallel(names, nproc)));
    } finally {
      rp.close();
    }
    if (!noPodman) {
      const pm = new PodmanPeer(env, `remove-${run}`);
      try {
        await pm.startParallel(names, nproc);
        s.podman.push(timeSync(() => names.forEach((name) => pm.remove(name))));
      } finally {
        pm.close();
      }
    }
  }
  const ratio = round(median(s.pocker) / median(s.runc), 3);
  const ratioParallel = round(median(s.pocker) / median(s.runcParallel), 3);
  const ratioPodman = s.podman.length ? round(median(s.pocker) / median(s.podman), 3) : null;
  return {
    name: 'remove',
    chart: [
      {
        label: `remove ${n}`,
        bars: [
          { series: 'pocker', ms: round(median(s.pocker)) },
          { series: 'runc (serial)', ms: round(median(s.runc)) },
          { series: `runc (${nproc} at a time)`, ms: round(median(s.runcParallel)) },
          { series: 'podman', ms: s.podman.length ? round(median(s.podman)) : null },
        ],
      },
    ],
    title: `Remove ${n} containers: spec files removed + one \`pocker reconcile --once\` vs N x (\`runc kill KILL\` + \`runc delete\` + unmount) serially and ${nproc} at a time, and N x \`podman rm -f\``,
    header: peerHeader(nproc),
    table: [
      [
        n,
        runs,
        round(median(s.pocker)),
        round(p99(s.pocker)),
        round(median(s.runc)),
        round(median(s.runcParallel)),
        s.podman.length ? round(median(s.podman)) : '-',
        `${ratio}x`,
        `${ratioParallel}x`,
        ratioPodman === null ? '-' : `${ratioPodman}x`,
      ],
    ],
    notes: noPodman ? [`podman: ${noPodman}`] : [],
    targets: [{ what: `remove N=${n}, pocker/runc serial`, value: ratio, target: 0.5, unit: 'x', ok: ratio <= 0.5 }],
    rows: [{ n, runs, ...s, ratio, ratioParallel, ratioPodman }],
  };
}
