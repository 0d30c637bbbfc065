// One pocker instance for a benchmark: its own spec dir, state dir (in /run, a tmpfs like the
// default /run/pocker), data dir and cgroup parent; `close()` takes everything down.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LIMITS } from './env.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** `POCKER_BENCH_USERNS=host npm run bench` measures every suite with the host's user namespace (default: pocker's, auto). */
export const BENCH_USERNS = process.env.POCKER_BENCH_USERNS ?? null;
if (BENCH_USERNS !== null && !['auto', 'host'].includes(BENCH_USERNS))
  throw new Error(`POCKER_BENCH_USERNS must be auto or host, not ${BENCH_USERNS}`);

export class PockerInstance {
  /** @param {import('./env.mjs').BenchEnv} env */
  constructor(env, label) {
    this.env = env;
    this.base = join(env.work, `pocker-${label}`);
    this.specDir = join(this.base, 'specs');
    this.stateDir = join('/run', `pocker-bench-${env.id}-${label}`);
    this.cgroupParent = `pocker-bench-${env.id}-${label}`;
    mkdirSync(this.specDir, { recursive: true, mode: 0o755 });
    env.ownCgroupParent(this.cgroupParent);
    this.args = [
      '--dir',
      this.specDir,
      '--state-dir',
      this.stateDir,
      '--data-dir',
      join(this.base, 'data'),
      '--cgroup-parent',
      this.cgroupParent,
    ];
    this.daemon = null;
  }

  /** The spec of a benchmark container: busybox sleep with the shared limits. */
  spec(name, resources = {}, extra = {}) {
    return {
      ...(BENCH_USERNS && { userns: BENCH_USERNS }),
      ...extra,
      name,
      image: { layers: [this.env.layer] },
      command: ['sleep', '3600'],
      stopGracePeriod: '1s',
      resources: { cpus: LIMITS.cpus, memory: LIMITS.memory, pids: LIMITS.pids, ...resources },
    };
  }

  /** Writes a spec file directly (not atomically: for set-up before a timed step). */
  writeSpec(name, resources, extra) {
    writeFileSync(join(this.specDir, `${name}.yaml`), JSON.stringify(this.spec(name, resources, extra)));
  }

  /** Writes a spec next to the dir, then renames it in (what an editor or git does); returns the time of the rename. */
  renameSpecIn(name, resources) {
    const tmp = join(this.base, `.${name}.yaml.tmp`);
    writeFileSync(tmp, JSON.stringify(this.spec(name, resources)));
    const t0 = process.hrtime.bigint();
    renameSync(tmp, join(this.specDir, `${name}.yaml`));
    return t0;
  }

  removeSpec(name) {
    unlinkSync(join(this.specDir, `${name}.yaml`));
  }

  /** Runs a pocker command to completion; throws with its output when it fails. */
  cli(args, { check = true, logLevel = 'silent' } = {}) {
    const r = spawnSync(this.env.pockerBin, [...args, ...this.args, '--log-level', logLevel], {
      encoding: 'utf8',
      maxBuffer: 64 * 2 ** 20,
    });
    if (check && r.status !== 0)
      throw new Error(`pocker ${args.join(' ')} exited ${r.status}: ${r.stdout.slice(-2000)}${r.stderr.slice(-2000)}`);
    return r;
  }

  /** The monitor's and init's pids of a running container, or null. */
  pids(name) {
    try {
      return JSON.parse(readFileSync(join(this.stateDir, name, 'pids.json'), 'utf8'));
    } catch {
      return null;
    }
  }

  /** Whether the container's state dir still exists. */
  hasState(name) {
    return existsSync(join(this.stateDir, name));
  }

  /** Waits until `cond()` holds, polling every `everyMs`. */
  async until(cond, what, timeoutMs = 120_000, everyMs = 20) {
    const deadline = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`bench: timed out waiting for ${what}`);
      await sleep(everyMs);
    }
  }

  /** Starts the watching controller, with JSON log lines on stderr collected for `waitForLog`. */
  async startDaemon(extra = []) {
    const child = spawn(
      this.env.pockerBin,
      ['reconcile', ...this.args, '--log-level', 'debug', '--allow-empty', '--removal-delay', '50ms', '--resync', '1h', ...extra],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    this.daemon = child;
    this.logLines = [];
    this.logWaiters = [];
    let buf = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      buf += chunk;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let rec;
        try {
          rec = JSON.parse(line);
        } catch {
          continue;
        }
        if (process.env.BENCH_DEBUG) process.stderr.write(`${line}\n`);
        this.logLines.push(rec);
        if (this.logLines.length > 10_000) this.logLines.splice(0, 5_000);
        for (const w of [...this.logWaiters]) if (w.match(rec)) w.resolve(rec);
      }
    });
    await this.waitForLog((r) => typeof r.msg === 'string' && r.msg.startsWith('watching '), 60_000);
    return child;
  }

  /** Resolves with the first log record from now on that matches. */
  waitForLog(match, timeoutMs = 60_000) {
    return new Promise((resolve, reject) => {
      const w = {
        match,
        resolve: (rec) => {
          clearTimeout(timer);
          this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
          resolve(rec);
        },
      };
      const timer = setTimeout(() => {
        this.logWaiters.splice(this.logWaiters.indexOf(w), 1);
        reject(new Error('bench: timed out waiting for a log line of the controller'));
      }, timeoutMs);
      this.logWaiters.push(w);
    });
  }

  /** Asks the controller for a resync (SIGHUP) and returns its stats line. */
  async resync() {
    const seen = this.waitForLog((r) => typeof r.durationMs === 'number' && typeof r.kicked === 'number');
    this.daemon.kill('SIGHUP');
    return seen;
  }

  async stopDaemon() {
    if (!this.daemon || this.daemon.exitCode !== null) return;
    const exited = new Promise((r) => this.daemon.once('exit', r));
    this.daemon.kill('SIGTERM');
    await exited;
    this.daemon = null;
  }

  /** Stops the controller, removes every container of this instance and its files. */
  async close() {
    await this.stopDaemon();
    spawnSync(this.env.pockerBin, ['down', ...this.args, '--log-level', 'silent'], { stdio: 'ignore' });
    rmSync(this.base, { recursive: true, force: true });
    rmSync(this.stateDir, { recursive: true, force: true });
  }
}
