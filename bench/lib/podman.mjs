// The second peer: Debian's podman, rootful, running the same busybox layer (`--rootfs LAYER:O`,
// an overlay over it, so the layer is never written), `sleep 3600`, the same cpu/memory/pids
// limits, no network. Every piece of its state lives in a temp dir of the bench's scratch dir;
// `close()` removes its containers, mounts and files. Root here lacks CAP_SYS_RESOURCE, so podman
// is given `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024` (it would raise them otherwise).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupRoots, LIMITS } from './env.mjs';
import { removeTreeDetached } from './proc.mjs';
import { exec, parallel } from './runc.mjs';

/** The pids in the cgroup tree rel (relative to the first hierarchy's root) and below. */
function cgroupProcs(rel) {
  const top = join(cgroupRoots()[0], rel);
  const out = [];
  const walk = (d) => {
    if (!existsSync(d)) return;
    out.push(...readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean));
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  walk(top);
  return out;
}

/** Why podman cannot be a peer here, or null when it can. */
export function podmanMissing() {
  const r = spawnSync('podman', ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? null : 'podman not installed (scripts/setup-tests.sh installs it)';
}

/** The flags that make podman's containers match pocker's and runc's: limits, no network, rlimits it may not raise here. */
const PODMAN_RUN_FLAGS = [
  '--network',
  'none',
  '--ulimit',
  'nofile=1024:1024',
  '--ulimit',
  'nproc=1024:1024',
  '--cpus',
  String(LIMITS.cpus),
  '--memory',
  String(LIMITS.memory),
  '--pids-limit',
  String(LIMITS.pids),
];

export class PodmanPeer {
  /** @param {import('./env.mjs').BenchEnv} env */
  constructor(env, label) {
    this.env = env;
    // podman's overlay driver refuses a run root of more than 50 characters: a short name.
    this.dir = mkdtempSync(join(env.work, 'pm-'));
    this.cgroupParent = `pocker-bench-podman-${env.id}-${label}`;
    env.ownCgroupParent(this.cgroupParent);
    const rr = join(this.dir, 'runroot');
    this.global = [
      '--root',
      join(this.dir, 'root'),
      '--runroot',
      rr,
      '--tmpdir',
      join(rr, 'libpod-tmp'),
      '--storage-driver',
      'vfs',
      '--events-backend',
      'none',
      '--cgroup-manager',
      'cgroupfs',
    ];
  }

  args(args) {
    return [...this.global, ...args];
  }

  /** What every container is run with: the shared limits, no network, under this peer's own cgroup parent. */
  runFlags() {
    return [...PODMAN_RUN_FLAGS, '--cgroup-parent', `/${this.cgroupParent}`, '--rootfs', `${this.env.layer}:O`];
  }

  /** Runs podman to completion; throws with its stderr when it fails. */
  run(args) {
    const r = spawnSync('podman', this.args(args), { encoding: 'utf8', maxBuffer: 16 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`podman ${args.join(' ')} exited ${r.status}: ${r.stderr.trim().split('\n').pop()}`);
    return r.stdout;
  }

  /** `podman run -d` of one benchmark container. */
  start(name) {
    this.run(['run', '-d', '--name', name, ...this.runFlags(), 'sleep', '3600']);
  }

  /** `podman run -d` of each name, `concurrency` at a time. */
  startParallel(names, concurrency) {
    return parallel(names, concurrency, (name) =>
      exec('podman', this.args(['run', '-d', '--name', name, ...this.runFlags(), 'sleep', '3600'])),
    );
  }

  /** `podman rm -f -t 0` of one container (it kills at once, as the other peers do). */
  remove(name) {
    this.run(['rm', '-f', '-t', '0', name]);
  }

  /** `podman run --rm` of `true`, attached. */
  runOnce() {
    this.run(['run', '--rm', ...this.runFlags(), 'true']);
  }

  /**
   * Removes every container, waits (10 s at most) for the conmons `podman rm` leaves exiting to
   * leave this peer's cgroups, unmounts what podman left mounted under its dir, removes the dir.
   */
  close() {
    spawnSync('podman', this.args(['rm', '-a', '-f', '-t', '0']), { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    while (cgroupProcs(this.cgroupParent).length && Date.now() < deadline) spawnSync('sleep', ['0.05']);
    removeTreeDetached(this.env, this.dir);
  }
}
