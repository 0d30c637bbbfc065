#!/usr/bin/env node
// pocker's benchmarks against runc, measured side by side in one run on the same busybox layer
// and limits. Prints markdown tables (medians, p99, ratios) and the targets met or missed, and
// writes bench/results/bench-<time>.json and bench/results/bench-<time>.md, and (full runs) the
// README's chart bench/results/latest.svg from the newest full run of each suite.
//   npm run bench [-- --quick] [-- --only start,remove,scale,watch,update,network,run,pull,hooks,metrics,startup,userns]
// --quick: fewer runs and sizes (finishes in under 2 minutes). Needs root, runc and a built pocker.
import { mkdirSync, writeFileSync } from 'node:fs';
import { latestResults, renderChart } from './lib/chart.mjs';
import { BENCH_USERNS } from './lib/pocker.mjs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { BenchEnv } from './lib/env.mjs';
import { memoryCgroups, rlimits } from './lib/proc.mjs';
import { markdownTable, round } from './lib/stats.mjs';
import { removeSuite } from './suites/remove.mjs';
import { runSuite } from './suites/run.mjs';
import { scaleSuite } from './suites/scale.mjs';
import { startSuite } from './suites/start.mjs';
import { updateSuite } from './suites/update.mjs';
import { networkSuite } from './suites/network.mjs';
import { pullSuite } from './suites/pull.mjs';
import { watchSuite } from './suites/watch.mjs';
import { hooksSuite } from './suites/hooks.mjs';
import { metricsSuite } from './suites/metrics.mjs';
import { startupSuite } from './suites/startup.mjs';
import { usernsSuite } from './suites/userns.mjs';

const { values } = parseArgs({ options: { quick: { type: 'boolean' }, only: { type: 'string' } } });
const quick = !!values.quick;
const PLAN = {
  start: (env) => startSuite(env, { counts: quick ? [1, 20, 100] : [1, 20, 100, 1000], runs: quick ? 1 : 5 }),
  remove: (env) => removeSuite(env, { n: 100, runs: quick ? 1 : 3 }),
  scale: (env) =>
    scaleSuite(env, { counts: quick ? [10, 100] : [10, 100, 1000], samples: quick ? 3 : 7, runcPeer: true, settleMs: quick ? 0 : 60_000 }),
  watch: (env) => watchSuite(env, { tries: quick ? 50 : 200, peerTries: quick ? 10 : 30 }),
  update: (env) => updateSuite(env, { tries: quick ? 20 : 50 }),
  network: (env) => networkSuite(env, { tries: quick ? 5 : 20 }),
  run: (env) => runSuite(env, { tries: quick ? 10 : 30 }),
  pull: (env) => pullSuite(env, { runs: quick ? 2 : 5 }),
  hooks: (env) => hooksSuite(env, { tries: quick ? 20 : 100 }),
  startup: (env) => startupSuite(env, { tries: quick ? 10 : 30 }),
  userns: (env) => usernsSuite(env, { counts: [1, 20, 100], runs: quick ? 2 : 6, tries: quick ? 10 : 30 }),
  metrics: (env) =>
    metricsSuite(env, { n: quick ? 100 : 1000, scrapes: quick ? 10 : 50, heapScrapes: 1000, peerSample: 20, settleMs: quick ? 0 : 60_000 }),
};
const only = values.only ? values.only.split(',') : Object.keys(PLAN);
for (const s of only) if (!PLAN[s]) throw new Error(`bench: unknown suite ${s} (have: ${Object.keys(PLAN).join(', ')})`);

const env = new BenchEnv();
const limits = rlimits();
const memcgAtStart = memoryCgroups();
const started = Date.now();
const results = [];
const cleanup = () => env.close();
process.once('SIGINT', () => {
  cleanup();
  process.exit(130);
});
try {
  for (const s of only) {
    const t0 = Date.now();
    process.stderr.write(`bench: ${s}...\n`);
    const r = await PLAN[s](env);
    r.seconds = round((Date.now() - t0) / 1000);
    results.push(r);
  }
} finally {
  cleanup();
}

const lines = [];
lines.push(`# pocker benchmarks${quick ? ' (--quick)' : ''}${BENCH_USERNS ? ` (every container userns: ${BENCH_USERNS})` : ''}`);
lines.push('');
lines.push(
  `${new Date().toISOString()}; node ${process.version}; peer ${env.runcVersion} (${env.runc}); cgroups ${env.cgroupMode}; ${env.crunNote}.`,
);
lines.push(
  `Memory cgroups in the kernel at the start: ${memcgAtStart.total} (of them dying, still holding page cache: ${memcgAtStart.total - memcgAtStart.live}); each dying one slows every cgroup mkdir a little, for pocker and runc alike.`,
);
lines.push(
  `Limits in force: open files ${limits.openFiles.soft}/${limits.openFiles.hard}, processes ${limits.processes.soft}/${limits.processes.hard}, locked memory ${limits.lockedMemory.soft}/${limits.lockedMemory.hard}, stack ${limits.stack.soft}/${limits.stack.hard}; pid_max ${limits.pidMax}, threads-max ${limits.threadsMax} (root here cannot raise rlimits above their hard limits; everything ran within these).`,
);
for (const r of results) {
  lines.push('', `## ${r.title}`, '', markdownTable(r.header, r.table));
  for (const n of r.notes ?? []) lines.push('', n);
}
const targets = results.flatMap((r) => r.targets);
lines.push(
  '',
  '## Targets',
  '',
  markdownTable(
    ['what', 'measured', 'target', ''],
    targets.map((t) => [t.what, `${t.value} ${t.unit}`, `<= ${t.target} ${t.unit}`, t.ok ? 'met' : 'MISSED']),
  ),
);
lines.push('', `${targets.filter((t) => t.ok).length} of ${targets.length} targets met; ${round((Date.now() - started) / 1000)} s in all.`);
const md = lines.join('\n');
console.log(md);
const dir = join(env.root, 'bench', 'results');
mkdirSync(dir, { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
writeFileSync(
  join(dir, `bench-${stamp}${quick ? '-quick' : ''}${BENCH_USERNS === 'host' ? '-userns-host' : ''}.json`),
  JSON.stringify(
    {
      at: new Date().toISOString(),
      quick,
      userns: BENCH_USERNS ?? 'auto',
      node: process.version,
      runc: env.runcVersion,
      cgroups: env.cgroupMode,
      crun: env.crunNote,
      rlimits: limits,
      results,
    },
    null,
    2,
  ),
);
writeFileSync(join(dir, `bench-${stamp}${quick ? '-quick' : ''}${BENCH_USERNS === 'host' ? '-userns-host' : ''}.md`), `${md}\n`);
if (!quick) writeFileSync(join(dir, 'latest.svg'), renderChart(latestResults(dir)));
