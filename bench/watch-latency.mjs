#!/usr/bin/env node
// Watch latency: a spec renamed into the watched dir -> the container's workload running (the
// monitor writes pids.json once the workload has been exec'd), p50/p99 over N tries with a running
// controller (`pocker reconcile`). Also the controller's RSS with M containers running.
//   node bench/watch-latency.mjs [--tries 100] [--rss-containers 100]
// Needs root and a built pocker (scripts/setup.sh). Everything it creates is removed at the end.
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, watch, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { tries: { type: 'string', default: '100' }, 'rss-containers': { type: 'string', default: '100' } } });
const tries = Number(values.tries);
const rssN = Number(values['rss-containers']);
if (process.getuid() !== 0) throw new Error('run as root');

const work = mkdtempSync(join(tmpdir(), 'pocker-watch-bench-'));
execFileSync('sh', [join(root, 'scripts', 'make-busybox-layer.sh'), work], { stdio: 'ignore' });
const layer = join(work, 'layers', 'busybox');
const specs = join(work, 'specs');
mkdirSync(specs);
const stateDir = join('/run', `pocker-watch-bench-${process.pid}`);
const args = ['--dir', specs, '--state-dir', stateDir, '--data-dir', join(work, 'data'), '--cgroup-parent', `pocker-watch-bench-${process.pid}`];
const spec = (name) => JSON.stringify({ name, image: { layers: [layer] }, command: ['sleep', '3600'], stopGracePeriod: '1s', resources: { memory: '32Mi', pids: 16 } });
const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((xs.length - 1) * p))];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const daemon = spawn(process.execPath, [join(root, 'bin', 'pocker'), 'reconcile', ...args, '--log-level', process.env.BENCH_LOG_LEVEL ?? 'warn', '--removal-delay', '50ms', '--allow-empty'], { stdio: 'inherit' });
const rssKiB = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${daemon.pid}/status`, 'utf8'))[1]);
const latencies = [];
const rss = {};
try {
  await sleep(1500);
  rss[0] = rssKiB();
  mkdirSync(stateDir, { recursive: true });
  for (let i = 0; i < tries; i++) {
    const name = `lat${i}`;
    const tmp = join(work, `${name}.yaml`);
    writeFileSync(tmp, spec(name));
    const pidsFile = join(stateDir, name, 'pids.json');
    const seen = new Promise((resolve) => {
      const check = () => existsSync(pidsFile);
      const poll = setInterval(() => check() && (clearInterval(poll), resolve()), 1);
    });
    const t0 = process.hrtime.bigint();
    renameSync(tmp, join(specs, `${name}.yaml`));
    await seen;
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (process.env.DEBUG) console.error(name, latencies[latencies.length - 1]);
    unlinkSync(join(specs, `${name}.yaml`));
    while (existsSync(join(stateDir, name))) await sleep(5);
  }
  for (let i = 0; i < rssN; i++) writeFileSync(join(specs, `r${i}.yaml`), spec(`r${i}`));
  while (!Array.from({ length: rssN }, (_, i) => existsSync(join(stateDir, `r${i}`, 'pids.json'))).every(Boolean)) await sleep(50);
  await sleep(1000);
  rss[rssN] = rssKiB();
} finally {
  for (const f of Array.from({ length: rssN }, (_, i) => join(specs, `r${i}.yaml`))) rmSync(f, { force: true });
  daemon.kill('SIGTERM');
  await new Promise((r) => daemon.once('exit', r));
  spawnSync(process.execPath, [join(root, 'bin', 'pocker'), 'down', ...args, '--log-level', 'silent'], { stdio: 'ignore' });
  rmSync(work, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
}
const result = {
  tries,
  p50Ms: Math.round(pct(latencies, 0.5) * 10) / 10,
  p99Ms: Math.round(pct(latencies, 0.99) * 10) / 10,
  maxMs: Math.round(Math.max(...latencies) * 10) / 10,
  rssKiB: rss,
  perContainerKiB: Math.round((rss[rssN] - rss[0]) / rssN),
};
console.log(`Watch latency (spec renamed into the dir -> workload running), ${tries} tries: p50 ${result.p50Ms} ms, p99 ${result.p99Ms} ms, max ${result.maxMs} ms`);
console.log(`Controller RSS: ${Math.round(rss[0] / 1024)} MiB idle, ${Math.round(rss[rssN] / 1024)} MiB with ${rssN} containers (${result.perContainerKiB} KiB per container)`);
mkdirSync(join(root, 'bench', 'results'), { recursive: true });
writeFileSync(join(root, 'bench', 'results', `watch-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ node: process.version, ...result, latencies }, null, 2));
