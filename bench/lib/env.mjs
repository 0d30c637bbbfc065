// What every suite shares: the project's binaries, the peer runtime, one busybox layer, the limits
// both runtimes apply, and a scratch dir that is removed at the end.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Limits every benchmark container gets, in pocker's and in runc's terms. */
export const LIMITS = { cpus: 0.5, memory: 64 * 2 ** 20, pids: 64 };

/** The benchmark environment; `close()` removes everything it made. */
export class BenchEnv {
  constructor() {
    if (process.getuid() !== 0) throw new Error('bench: run as root');
    this.root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
    this.pockerBin = join(this.root, 'bin', 'pocker');
    if (!existsSync(join(this.root, 'dist'))) throw new Error('bench: pocker is not built (scripts/setup.sh or npm run build)');
    this.addon = createRequire(import.meta.url)(join(this.root, 'native', 'build', 'Release', 'pocker.node'));
    this.runc = which('runc');
    if (!this.runc) throw new Error('bench: runc not found (apt-get install runc)');
    this.runcVersion = execFileSync(this.runc, ['--version'], { encoding: 'utf8' }).split('\n')[0];
    this.crunNote = crunNote();
    this.cgroupMode = existsSync('/sys/fs/cgroup/cgroup.controllers')
      ? 'v2'
      : existsSync('/sys/fs/cgroup/unified')
        ? 'hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)'
        : 'v1';
    this.id = `${process.pid}`;
    this.work = mkdtempSync(join(tmpdir(), 'pocker-bench-'));
    execFileSync('sh', [join(this.root, 'scripts', 'make-busybox-layer.sh'), this.work], { stdio: 'ignore' });
    this.layer = join(this.work, 'layers', 'busybox');
    this.cgroupParents = new Set();
  }

  /** Registers a cgroup parent (relative to each hierarchy's root) to remove at the end. */
  ownCgroupParent(rel) {
    this.cgroupParents.add(rel);
  }

  /** Removes the scratch dir and every registered cgroup parent that is empty by now. */
  close() {
    for (const rel of this.cgroupParents) removeCgroupTree(rel);
    rmSync(this.work, { recursive: true, force: true });
  }
}

function which(cmd) {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).stdout.trim() || null;
}

function crunNote() {
  const crun = which('crun');
  const hybrid = !existsSync('/sys/fs/cgroup/cgroup.controllers') && existsSync('/sys/fs/cgroup/unified');
  if (!crun) return hybrid ? 'crun not installed; it refuses hybrid cgroup hierarchies like this one anyway' : 'crun not installed';
  return hybrid
    ? `crun (${crun}) refuses hybrid cgroup hierarchies like this one: not measured`
    : `crun at ${crun} not measured (runc is the peer)`;
}

/** Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, or the v2 root). */
export function cgroupRoots() {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return ['/sys/fs/cgroup'];
  return readdirSync('/sys/fs/cgroup', { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => join('/sys/fs/cgroup', d.name))
    .filter((d) => existsSync(join(d, 'cgroup.procs')));
}

/** Removes a cgroup dir and its (empty) children in every hierarchy, deepest first; quiet when absent. */
export function removeCgroupTree(rel) {
  for (const r of cgroupRoots()) {
    const top = join(r, rel);
    if (!existsSync(top)) continue;
    const dirs = [];
    const walk = (d) => {
      dirs.push(d);
      for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
    };
    walk(top);
    for (const d of dirs.reverse()) {
      try {
        rmdirSync(d);
      } catch (e) {
        console.error(`bench: could not remove cgroup ${d}: ${e.code ?? e.message}`);
      }
    }
  }
}

/** The trimmed content of a cgroup file, or null when it cannot be read. */
export function cgroupValue(path) {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
