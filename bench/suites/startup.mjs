// 11. One-shot commands against Node's own start-up: `node -e 0`, `pocker --version`, `pocker
// validate examples/httpd.yaml`, and `pocker ps` and `pocker plan` over 10 running containers,
// run in turn try by try (so drift of the machine falls on all alike), medians compared.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { PockerInstance } from '../lib/pocker.mjs';
import { median, p99, round, timeSync } from '../lib/stats.mjs';

function timed(cmd, args) {
  let r;
  const ms = timeSync(() => (r = spawnSync(cmd, args, { encoding: 'utf8' })));
  // plan exits 0 (nothing to do) or 2 (changes): both are answers.
  if (r.status !== 0 && r.status !== 2) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${r.stderr.slice(-500)}`);
  return ms;
}

export async function startupSuite(env, { tries }) {
  const p = new PockerInstance(env, 'startup');
  const cases = {
    'node -e 0': [process.execPath, ['-e', '0']],
    'pocker --version': [env.pockerBin, ['--version']],
    'pocker validate examples/httpd.yaml': [env.pockerBin, ['validate', join(env.root, 'examples', 'httpd.yaml')]],
    'pocker ps (10 containers)': [env.pockerBin, ['ps', ...p.args, '--log-level', 'silent']],
    'pocker plan (10 containers)': [env.pockerBin, ['plan', ...p.args, '--log-level', 'silent']],
  };
  const samples = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
  try {
    for (let i = 0; i < 10; i++) p.writeSpec(`s${i}`);
    p.cli(['reconcile', '--once']);
    for (const [cmd, args] of Object.values(cases)) timed(cmd, args);
    for (let i = 0; i < tries; i++) for (const [k, [cmd, args]] of Object.entries(cases)) samples[k].push(timed(cmd, args));
  } finally {
    await p.close();
  }
  const floor = median(samples['node -e 0']);
  const ratio = (k) => round(median(samples[k]) / floor, 3);
  const target = {
    'pocker --version': 1.25,
    'pocker validate examples/httpd.yaml': 1.25,
    'pocker ps (10 containers)': 1.4,
    'pocker plan (10 containers)': 1.4,
  };
  return {
    name: 'startup',
    chart: Object.keys(cases)
      .filter((k) => k !== 'node -e 0')
      .map((k) => ({
        label: k.replace(/^pocker /, '').replace(/ examples\/httpd\.yaml/, ''),
        bars: [
          { series: 'pocker', ms: round(median(samples[k])) },
          { series: 'node -e 0', ms: round(floor) },
        ],
      })),
    title: `One-shot commands vs \`node -e 0\` (${tries} tries each, in turn)`,
    header: ['command', 'median (ms)', 'p99 (ms)', 'vs node -e 0'],
    table: Object.keys(cases).map((k) => [k, round(median(samples[k])), round(p99(samples[k])), `${ratio(k)}x`]),
    targets: Object.entries(target).map(([k, t]) => ({
      what: `${k} / node -e 0`,
      value: ratio(k),
      target: t,
      unit: 'x',
      ok: ratio(k) <= t,
    })),
    rows: samples,
  };
}
