// The peer: runc (Debian's package) running bundles equivalent to pocker's benchmark containers:
// the same busybox layer through an overlay mount, `sleep 3600`, the same cpu/memory/pids limits,
// no network namespace wiring. `close()` deletes every container, mount, cgroup and file it made.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { LIMITS } from './env.mjs';

export class RuncFleet {
  /** @param {import('./env.mjs').BenchEnv} env */
  constructor(env, label) {
    this.env = env;
    this.base = join(env.work, `runc-${label}`);
    this.state = join('/run', `pocker-bench-runc-${env.id}-${label}`);
    this.cgroupParent = `pocker-bench-runc-${env.id}-${label}`;
    env.ownCgroupParent(this.cgroupParent);
    mkdirSync(this.state, { recursive: true });
    const template = join(this.base, 'template');
    mkdirSync(template, { recursive: true });
    execFileSync(env.runc, ['spec', '-b', template]);
    this.template = JSON.parse(execFileSync('cat', [join(template, 'config.json')], { encoding: 'utf8' }));
    this.bundles = new Map();
    this.mounted = new Set();
    this.created = new Set();
  }

  /** Prepares bundle dirs and configs for ids (not timed); args is the container's command. */
  prepare(ids, args = ['sleep', '3600']) {
    for (const id of ids) {
      const b = join(this.base, id);
      for (const d of ['rootfs', 'upper', 'work']) mkdirSync(join(b, d), { recursive: true });
      const cfg = structuredClone(this.template);
      cfg.process.terminal = false;
      cfg.process.args = args;
      cfg.root = { path: join(b, 'rootfs'), readonly: false };
      cfg.hostname = id;
      cfg.linux.cgroupsPath = `/${this.cgroupParent}/${id}`;
      cfg.linux.resources = {
        ...cfg.linux.resources,
        cpu: { quota: LIMITS.cpus * 100000, period: 100000 },
        memory: { limit: LIMITS.memory },
        pids: { limit: LIMITS.pids },
      };
      writeFileSync(join(b, 'config.json'), JSON.stringify(cfg));
      this.bundles.set(id, b);
    }
  }

  /** Mounts a bundle's overlay rootfs (in-process mount(2), no helper process); returns the bundle. */
  mountRootfs(id) {
    const b = this.bundles.get(id);
    this.env.addon.mount(
      'overlay',
      join(b, 'rootfs'),
      'overlay',
      0,
      `lowerdir=${this.env.layer},upperdir=${join(b, 'upper')},workdir=${join(b, 'work')}`,
    );
    this.mounted.add(id);
    return b;
  }

  /** Mounts the overlay rootfs and `runc run -d`s it. */
  start(id) {
    const b = this.mountRootfs(id);
    // Detached, the container keeps whatever stdout/stderr it was given: no pipes here.
    const r = spawnSync(this.env.runc, ['--root', this.state, 'run', '-d', '-b', b, id], { stdio: 'ignore' });
    if (r.status !== 0) throw new Error(`runc run -d ${id} exited ${r.status}`);
    this.created.add(id);
  }

  /** Mounts the overlay rootfs, `runc run`s it attached (runc deletes the container when its command exits), unmounts. */
  runAttached(id) {
    const b = this.mountRootfs(id);
    const rootfs = join(b, 'rootfs');
    const r = spawnSync(this.env.runc, ['--root', this.state, 'run', '-b', b, id], { stdio: 'ignore' });
    this.env.addon.umount(rootfs, 0);
    this.mounted.delete(id);
    if (r.status !== 0) throw new Error(`runc run ${id} exited ${r.status}`);
  }

  /** The container's init pid, from runc's own state file (no process spawned to ask). */
  initPid(id) {
    return JSON.parse(readFileSync(join(this.state, id, 'state.json'), 'utf8')).init_process_pid;
  }

  /**
   * `runc kill ID KILL`, a wait until the init is gone (polling /proc, no process spawned), then
   * one `runc delete ID` and the unmount.
   */
  remove(id) {
    const pid = this.initPid(id);
    this.run(['kill', id, 'KILL']);
    const deadline = Date.now() + 10_000;
    while (!gone(pid)) {
      if (Date.now() > deadline) throw new Error(`runc kill ${id}: init ${pid} still alive after 10 s`);
      Atomics.wait(SLEEPER, 0, 0, 1);
    }
    this.run(['delete', id]);
    this.created.delete(id);
    this.env.addon.umount(join(this.bundles.get(id), 'rootfs'), 0);
    this.mounted.delete(id);
  }

  /** Starts ids with `concurrency` runc processes at a time (default: one per CPU), mounts first. */
  async startParallel(ids, concurrency = cpus().length) {
    for (const id of ids) this.mountRootfs(id);
    await parallel(ids, concurrency, (id) =>
      exec(this.env.runc, ['--root', this.state, 'run', '-d', '-b', this.bundles.get(id), id]).then(() => this.created.add(id)),
    );
  }

  /** Removes ids `concurrency` at a time: kill, wait for the init, one delete, then the unmounts. */
  async removeParallel(ids, concurrency = cpus().length) {
    await parallel(ids, concurrency, async (id) => {
      const pid = this.initPid(id);
      await exec(this.env.runc, ['--root', this.state, 'kill', id, 'KILL']);
      for (const deadline = Date.now() + 10_000; !gone(pid);) {
        if (Date.now() > deadline) throw new Error(`runc kill ${id}: init ${pid} still alive after 10 s`);
        await new Promise((r) => setTimeout(r, 1));
      }
      await exec(this.env.runc, ['--root', this.state, 'delete', id]);
      this.created.delete(id);
    });
    for (const id of ids) {
      this.env.addon.umount(join(this.bundles.get(id), 'rootfs'), 0);
      this.mounted.delete(id);
    }
  }

  /** `runc update` of memory and cpu quota. */
  update(id, { memory, cpus }) {
    this.run(['update', '--memory', String(memory), '--cpu-quota', String(Math.round(cpus * 100000)), '--cpu-period', '100000', id]);
  }

  /** `runc list` (reads the state of every container). */
  list() {
    return this.run(['list', '-q']);
  }

  run(args) {
    const r = spawnSync(this.env.runc, ['--root', this.state, ...args], { encoding: 'utf8', maxBuffer: 64 * 2 ** 20 });
    if (r.status !== 0) throw new Error(`runc ${args.join(' ')} exited ${r.status}: ${r.stderr}`);
    return r.stdout;
  }

  close() {
    for (const id of this.created) spawnSync(this.env.runc, ['--root', this.state, 'delete', '-f', id], { stdio: 'ignore' });
    for (const id of this.mounted) {
      try {
        this.env.addon.umount(join(this.bundles.get(id), 'rootfs'), 0);
      } catch (e) {
        console.error(`bench: unmounting ${id}: ${e.message}`);
      }
    }
    this.created.clear();
    this.mounted.clear();
    rmSync(this.base, { recursive: true, force: true });
    rmSync(this.state, { recursive: true, force: true });
  }
}

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Whether a process has exited: no /proc entry, or a zombie nobody reaped yet. */
function gone(pid) {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0] === 'Z';
  } catch {
    return true;
  }
}

/** Runs a command to completion (no output kept); rejects on a non-zero exit. */
export function exec(cmd, args) {
  return new Promise((resolve, reject) => {
    const c = spawn(cmd, args, { stdio: 'ignore' });
    c.on('error', reject);
    c.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}

/** Calls fn on each item, at most `limit` at a time. */
export async function parallel(items, limit, fn) {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
