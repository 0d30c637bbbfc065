// 7. Ad-hoc run of one short command: `pocker run --rm LAYER true` (attached: it returns once the
// command has exited and the container is removed) vs overlay mount + `runc run` (attached; runc
// deletes the container when the command exits) + unmount, same layer and limits.
import { spawnSync } from 'node:child_process';
import { LIMITS } from '../lib/env.mjs';
import { PockerInstance } from '../lib/pocker.mjs';
import { RuncFleet } from '../lib/runc.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

export async function runSuite(env, { tries }) {
  const p = new PockerInstance(env, 'run');
  const limits = ['--cpus', String(LIMITS.cpus), '-m', String(LIMITS.memory), '--pids-limit', String(LIMITS.pids)];
  const pocker = [];
  try {
    for (let i = 0; i < tries; i++) {
      let r;
      pocker.push(
        timeSync(() => (r = spawnSync(env.pockerBin, ['run', ...p.args, '--rm', ...limits, env.layer, 'true'], { encoding: 'utf8' }))),
      );
      if (r.status !== 0) throw new Error(`pocker run exited ${r.status}: ${r.stderr}`);
    }
  } finally {
    await p.close();
  }
  const r = new RuncFleet(env, 'run');
  const runc = [];
  try {
    r.prepare(['once'], ['true']);
    for (let i = 0; i < tries; i++) runc.push(timeSync(() => r.runAttached('once')));
  } finally {
    r.close();
  }
  const ratio = round(median(pocker) / median(runc), 3);
  return {
    name: 'run',
    title: `Ad-hoc run of \`true\` (${tries} tries): \`pocker run --rm\` vs overlay mount + \`runc run\` + unmount`,
    header: ['tries', 'pocker median (ms)', 'pocker p99 (ms)', 'runc median (ms)', 'runc p99 (ms)', 'ratio'],
    table: [[tries, round(median(pocker)), round(p99(pocker)), round(median(runc)), round(p99(runc)), `${ratio}x`]],
    notes: [
      'No target: one ad-hoc container is one node process start-up (~110 ms here) plus one container; the figure is for people choosing between the two for scripts.',
    ],
    targets: [],
    rows: { pocker, runc },
  };
}
