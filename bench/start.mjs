#!/usr/bin/env node
// Start-N benchmark: one `pocker reconcile --once` over N specs vs N `runc run -d` of equivalent
// bundles (same busybox layer via overlay, same cpu/memory/pids limits, no network), measured back
// to back in the same run. Prints a table with the ratio and writes bench/results/start-<time>.json.
//   node bench/start.mjs [--counts 20,100] [--runs 5]
// Needs root, runc (Debian package) and a built pocker (scripts/setup.sh).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { counts: { type: 'string', default: '20,100' }, runs: { type: 'string', default: '5' } } });
const counts = values.counts.split(',').map(Number);
const runs = Number(values.runs);
const pockerBin = join(root, 'bin', 'pocker');
const addon = createRequire(import.meta.url)(join(root, 'native', 'build', 'Release', 'pocker.node'));
const LIMITS = { cpus: 0.5, memory: 64 * 2 ** 20, pids: 64 };

if (process.getuid() !== 0) throw new Error('bench: run as root');
const runcPath = spawnSync('sh', ['-c', 'command -v runc']).stdout.toString().trim();
if (!runcPath) throw new Error('bench: runc not found (apt-get install runc)');

const work = mkdtempSync(join(tmpdir(), 'pocker-bench-'));
execFileSync('sh', [join(root, 'scripts', 'make-busybox-layer.sh'), work], { stdio: 'ignore' });
const layer = join(work, 'layers', 'busybox');

function timeIt(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function pockerStart(n, run) {
  const base = join(work, `pocker-${n}-${run}`);
  const specs = join(base, 'specs');
  mkdirSync(specs, { recursive: true });
  for (let i = 0; i < n; i++) {
    writeFileSync(join(specs, `c${i}.yaml`), JSON.stringify({
      name: `c${i}`, image: { layers: [layer] }, command: ['sleep', '3600'],
      resources: { cpus: LIMITS.cpus, memory: LIMITS.memory, pids: LIMITS.pids }, stopGracePeriod: '1s',
    }));
  }
  // State in /run (tmpfs) as in the default /run/pocker; writable layers on disk as /var/lib/pocker.
  const stateDir = join('/run', `pocker-bench-${process.pid}-${n}-${run}`);
  const args = ['--dir', specs, '--state-dir', stateDir, '--data-dir', join(base, 'data'), '--cgroup-parent', `pocker-bench-${process.pid}`, '--log-level', 'silent'];
  let out;
  const ms = timeIt(() => {
    out = spawnSync(process.execPath, [pockerBin, 'reconcile', '--once', ...args], { encoding: 'utf8' });
  });
  const started = (out.stdout.match(/ ok pid /g) ?? []).length;
  const down = spawnSync(process.execPath, [pockerBin, 'down', ...args], { encoding: 'utf8' });
  if (out.status !== 0 || started !== n || down.status !== 0) throw new Error(`pocker run failed: ${out.stdout}${out.stderr}${down.stdout}`);
  rmSync(base, { recursive: true, force: true });
  rmSync(stateDir, { recursive: true, force: true });
  return ms;
}

function runcStart(n, run) {
  const base = join(work, `runc-${n}-${run}`);
  const state = join('/run', `pocker-bench-runc-${process.pid}-${n}-${run}`);
  mkdirSync(state, { recursive: true });
  const ids = [];
  for (let i = 0; i < n; i++) {
    const b = join(base, `b${i}`);
    for (const d of ['rootfs', 'upper', 'work']) mkdirSync(join(b, d), { recursive: true });
    execFileSync(runcPath, ['spec', '-b', b]);
    const cfgPath = join(b, 'config.json');
    const cfg = JSON.parse(execFileSync('cat', [cfgPath], { encoding: 'utf8' }));
    cfg.process.terminal = false;
    cfg.process.args = ['sleep', '3600'];
    cfg.root = { path: join(b, 'rootfs'), readonly: false };
    cfg.hostname = `c${i}`;
    cfg.linux.cgroupsPath = `/pocker-bench-runc-${process.pid}/c${i}`;
    cfg.linux.resources = { ...cfg.linux.resources, cpu: { quota: LIMITS.cpus * 100000, period: 100000 }, memory: { limit: LIMITS.memory }, pids: { limit: LIMITS.pids } };
    writeFileSync(cfgPath, JSON.stringify(cfg));
    ids.push({ id: `pocker-bench-${i}`, b });
  }
  // The overlay mount is part of starting a container from a layer (pocker does it inside its
  // time), so it is timed here too, done in-process with mount(2) (no helper process).
  let mountMs = 0;
  const ms = timeIt(() => {
    for (const { id, b } of ids) {
      const t0 = process.hrtime.bigint();
      addon.mount('overlay', join(b, 'rootfs'), 'overlay', 0, `lowerdir=${layer},upperdir=${join(b, 'upper')},workdir=${join(b, 'work')}`);
      mountMs += Number(process.hrtime.bigint() - t0) / 1e6;
      const r = spawnSync(runcPath, ['--root', state, 'run', '-d', '-b', b, id], { stdio: 'ignore' });
      if (r.status !== 0) throw new Error(`runc run ${id} failed (${r.status})`);
    }
  });
  for (const { id, b } of ids) {
    spawnSync(runcPath, ['--root', state, 'delete', '-f', id], { stdio: 'ignore' });
    spawnSync('umount', [join(b, 'rootfs')]);
  }
  for (const ctrl of readdirSync('/sys/fs/cgroup')) {
    const d = join('/sys/fs/cgroup', ctrl, `pocker-bench-runc-${process.pid}`);
    if (existsSync(d)) spawnSync('rmdir', [d]);
  }
  rmSync(base, { recursive: true, force: true });
  rmSync(state, { recursive: true, force: true });
  return { ms, mountMs };
}

const rows = [];
try {
  for (const n of counts) {
    for (let run = 0; run < runs; run++) {
      const p = pockerStart(n, run);
      const r = runcStart(n, run);
      rows.push({ n, run, pockerMs: Math.round(p), runcMs: Math.round(r.ms), runcWithoutMountMs: Math.round(r.ms - r.mountMs), ratio: Math.round((p / r.ms) * 1000) / 1000 });
    }
  }
} finally {
  for (const ctrl of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    const d = join('/sys/fs/cgroup', ctrl, `pocker-bench-${process.pid}`);
    if (existsSync(d)) spawnSync('rmdir', [join(d, '_monitors'), d]);
  }
  rmSync(work, { recursive: true, force: true });
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const summary = counts.map((n) => {
  const rs = rows.filter((r) => r.n === n);
  const p = median(rs.map((r) => r.pockerMs));
  const q = median(rs.map((r) => r.runcMs));
  const q0 = median(rs.map((r) => r.runcWithoutMountMs));
  return { n, runs: rs.length, pockerMedianMs: p, runcMedianMs: q, runcWithoutMountMedianMs: q0, ratio: Math.round((p / q) * 1000) / 1000, ratioWithoutMount: Math.round((p / q0) * 1000) / 1000 };
});
console.log(`Start N containers, median of ${runs} run(s) each (runc: ${runcPath}, node ${process.version})`);
console.log('| N | pocker reconcile --once (ms) | runc: overlay mount + run -d, x N (ms) | ratio | runc run -d alone (ms) | ratio vs run -d alone |');
console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
for (const r of summary) console.log(`| ${r.n} | ${r.pockerMedianMs} | ${r.runcMedianMs} | ${r.ratio.toFixed(3)} | ${r.runcWithoutMountMedianMs} | ${r.ratioWithoutMount.toFixed(3)} |`);
const resultDir = join(root, 'bench', 'results');
mkdirSync(resultDir, { recursive: true });
writeFileSync(join(resultDir, `start-${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ runc: execFileSync(runcPath, ['--version'], { encoding: 'utf8' }).split('\n')[0], node: process.version, limits: LIMITS, summary, rows }, null, 2));
