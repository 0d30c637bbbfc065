// 9. Hooks never delay convergence: watch latency (a spec renamed in -> workload running) of a
// controller whose notify hook sleeps forever, for every kind of event, against the same
// controller without a hook, measured alternately try by try in the same run.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PockerInstance } from '../lib/pocker.mjs';
import { median, p99, round } from '../lib/stats.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function once(p, name) {
  const t0 = p.renameSpecIn(name);
  while (!p.pids(name)) await sleep(1);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  p.removeSpec(name);
  await p.until(() => !p.hasState(name), `${name} removed`, 30_000, 5);
  return ms;
}

export async function hooksSuite(env, { tries }) {
  const hook = join(env.work, 'hang-hook');
  writeFileSync(hook, '#!/bin/sh\nexec sleep 3600\n');
  chmodSync(hook, 0o755);
  const plain = new PockerInstance(env, 'hooks-none');
  const hooked = new PockerInstance(env, 'hooks-hang');
  const without = [];
  const withHook = [];
  try {
    await plain.startDaemon();
    await hooked.startDaemon(['--notify-exec', hook, '--notify-on', 'create,removed,exit,stop,restart', '--notify-timeout', '1h']);
    for (let i = 0; i < tries; i++) {
      // Alternate which goes first, so neither always follows the other's removal.
      const order = i % 2 ? [plain, hooked] : [hooked, plain];
      for (const p of order) {
        const ms = await once(p, `h${i}`);
        (p === plain ? without : withHook).push(ms);
        await sleep(20);
      }
    }
  } finally {
    await hooked.close();
    await plain.close();
  }
  const a = median(without);
  const b = median(withHook);
  const ratio = round(b / a, 3);
  return {
    name: 'hooks',
    title: `Watch latency with a notify hook that never returns (every create, exit, stop, removal; ${tries} tries each, alternating) vs none`,
    header: ['tries', 'no hook p50 (ms)', 'no hook p99 (ms)', 'hanging hook p50 (ms)', 'hanging hook p99 (ms)', 'ratio (p50)'],
    table: [[tries, round(a), round(p99(without)), round(b), round(p99(withHook)), `${ratio}x`]],
    targets: [{ what: 'watch latency p50 with a hanging hook / without', value: ratio, target: 1.1, unit: 'x', ok: ratio <= 1.1 }],
    rows: { without, withHook },
  };
}
