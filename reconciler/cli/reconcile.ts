import { createLogger } from '../log/logger.js';
import type { PassResult } from '../controller/once.js';
import { formatSpecError } from '../spec/types.js';
import { GLOBAL_HELP, parseCommand, trustedUids, UsageError } from './options.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { parseDuration } from '../spec/duration.js';
import { parseQuantity } from '../spec/quantity.js';
import { DEFAULT_LOG_POLICY } from '../runtime/monitorConfig.js';
import { table } from './table.js';
import { DEFAULT_NETWORK_OPTIONS } from '../network/conflist.js';
import { parseCidr } from '../network/cidr.js';
import { EVENT_TYPES } from '../state/events.js';
import { eventJournal } from './journal.js';
import { watchingOptions } from './watchingOptions.js';
import { native } from '../native.js';
import { DEFAULT_FULL_RESYNC_EVERY } from '../controller/resyncCadence.js';
import { printLine } from './stdout.js';

export const RECONCILE_HELP = `Usage: pocker reconcile [--once] [--dir DIR] [options]

Makes the host match the specs in --dir: creates missing containers, updates resources in place,
recreates containers whose spec changed otherwise, restarts exited ones per their restart policy
(with backoff), and removes containers whose spec is gone. A file that fails to parse keeps the
containers it last defined running. Only containers whose specs came from this --dir are touched.

Without --once it keeps running: it watches --dir (editors' atomic saves, git pulls, a symlinked
dir swapped by git-sync and ConfigMap-style ..data links all work), converges on every change,
sees exits at once, runs health checks, and resyncs periodically: every --full-resync-every-th
resync reads every container's records and cgroups; the others read again only the containers
whose exit watch or health check fired or whose records changed (limits written by hand are
repaired by the next full one). Stopping it (SIGTERM, SIGINT, even SIGKILL) never stops
containers; the next controller adopts them. SIGHUP resyncs at once (counted like a periodic one).

Options:
  --once                 do one pass and exit
  --dry-run              with --once: print the plan, change nothing
  --wait[=TIMEOUT]       with --once: return only when every container runs (healthy where it has a
                         health check) and every job others wait on (condition: completed) has
                         completed, running the health checks meanwhile and starting dependents as
                         their dependencies get there (default 5m)
  --allow-empty          when --dir holds no spec files, remove its containers (otherwise nothing is removed)
  --max-deletions N      refuse removals when more than N containers would go at once
  --resync DURATION      resync period (default 30s)
  --full-resync-every N  read everything every N-th resync, the first included (default 10; 1: always)
  --removal-delay DURATION
                         quiet period before a container whose spec vanished is removed (default 500ms)
  --backoff-initial DURATION, --backoff-max DURATION, --backoff-reset DURATION
                         restart delays where a spec sets no restartBackoff (default 100ms, 5m, 10m)
  --trusted-owner USER   also accept spec files and dir owned by USER (name or uid; repeatable), e.g.
                         the user git-sync runs as. Always accepted: root. Files writable by group or
                         others are refused either way: whoever can write a spec owns the host.
  --log-max-size QUANTITY, --log-max-files N
                         rotate a container's log at this size, keeping N old files (default 10Mi, 5);
                         applies to containers started from now on
  --cni-conf-dir DIR     CNI network configurations for network.mode bridge (default /etc/cni/net.d)
  --cni-bin-dir DIR      CNI plugins (default /usr/lib/cni, Debian's containernetworking-plugins)
  --subnet CIDR          subnet of the default network "pocker" (bridge pocker0) when pocker writes its
                         conflist, i.e. when the CNI config dir has none named pocker (default
                         10.89.0.0/24); refused when it overlaps a host route

Watching only (each overrides the instance config's metrics: and notify: keys):
  --metrics-addr ADDR    serve Prometheus metrics on /metrics and a status page on / at ADDR:
                         HOST:PORT (127.0.0.1:9464, [::1]:9464) or a unix socket path; off by default
  --metrics-allow-remote allow an ADDR other hosts can reach (0.0.0.0:9464, :9464): the page and the
                         metrics name every container, with no authentication
  --notify-exec PATH     run PATH (no arguments, no shell) for each event of --notify-on, the event as
                         one JSON line on stdin; one at a time, never delaying the controller (a full
                         queue of 100 drops events, counted in pocker_notify_dropped_total). PATH must be
                         root's and writable by nobody else. Example: examples/hooks/notify-command
  --notify-on TYPES      event types that run it (default oom,restart,unhealthy,apply-failed,rolled-back;
                         all: ${EVENT_TYPES.join(',')})
  --notify-timeout DURATION
                         kill a hook run after this long (default 10s)

Every pass (and pocker run, stop, start, rm, restart) records what it did in the events journal,
<data-dir>/events/: see pocker events.

Exit status (--once): 0 when everything converged, 1 when a spec was invalid or an action failed,
2 on usage errors; with --wait, 3 when at TIMEOUT something is unhealthy, still starting or waiting,
or a job failed (at once when a job failed for good: it exited non-zero with restart: never).

${GLOBAL_HELP}`;

/** Prints a pass: spec errors, plan problems, then one row per container. */
export function printPass(r: PassResult, dryRun: boolean, out: (s: string) => void): void {
  for (const e of r.load.errors) out(`error: ${formatSpecError(e)}`);
  for (const p of r.plan.problems) out(`${p.severity}: ${p.message}`);
  const byName = new Map(r.results.map((x) => [x.name, x]));
  const rows = r.plan.actions.map((a) => {
    const res = byName.get(a.name);
    if (!res) return [a.kind, a.name, a.kind === 'none' ? '-' : dryRun ? 'planned' : '', a.reason];
    const result =
      res.kind === 'none'
        ? '-'
        : res.ok
          ? `ok${res.pid ? ` pid ${res.pid}` : ''} (${Math.round(res.durationMs)} ms)`
          : `FAILED: ${res.error}`;
    return [res.kind, res.name, result, res.reason];
  });
  if (rows.length) out(table(['ACTION', 'NAME', 'RESULT', 'REASON'], rows));
  else if (!r.load.errors.length) out(`no containers for ${r.load.dir}`);
}

/** Node flags of the watching controller: a 1 MiB young generation, a heap grown for size (docs/decisions.md, "Controller heap"). */
export const DAEMON_NODE_FLAGS = ['--max-semi-space-size=1', '--optimize-for-size'];

/**
 * Runs the rest of this process under DAEMON_NODE_FLAGS: V8 sizes its heap when it starts, so the
 * controller replaces itself (execve: same pid, same stdio) once, before it has opened anything.
 * One-shot commands keep Node's defaults, which start them faster.
 */
function withDaemonHeap(): void {
  if (DAEMON_NODE_FLAGS.every((f) => process.execArgv.includes(f))) return;
  const env = Object.entries(process.env).flatMap(([k, val]) => (val === undefined ? [] : [`${k}=${val}`]));
  native().execve(process.execPath, [process.execPath, ...process.execArgv, ...DAEMON_NODE_FLAGS, ...process.argv.slice(1)], env);
}

function duration(flag: string, v: string | undefined, fallback: number): number {
  if (v === undefined) return fallback;
  const d = parseDuration(v);
  if ('error' in d) throw new UsageError(`--${flag}: ${d.error}`);
  return d.ms;
}

export async function main(argv: string[]): Promise<number> {
  // --wait takes an optional value (--wait=2m); parseArgs takes none, so it is spelled out here.
  const args = argv.flatMap((a) =>
    a === '--wait' ? ['--wait-timeout', '5m'] : a.startsWith('--wait=') ? ['--wait-timeout', a.slice(7)] : [a],
  );
  const cmd = parseCommand(args, {
    'wait-timeout': { type: 'string' },
    once: { type: 'boolean' },
    'dry-run': { type: 'boolean' },
    'allow-empty': { type: 'boolean' },
    'max-deletions': { type: 'string' },
    'full-resync-every': { type: 'string' },
    resync: { type: 'string' },
    'removal-delay': { type: 'string' },
    'backoff-initial': { type: 'string' },
    'backoff-max': { type: 'string' },
    'backoff-reset': { type: 'string' },
    'log-max-size': { type: 'string' },
    'log-max-files': { type: 'string' },
    'trusted-owner': { type: 'string', multiple: true },
    'cni-conf-dir': { type: 'string' },
    'cni-bin-dir': { type: 'string' },
    subnet: { type: 'string' },
    'metrics-addr': { type: 'string' },
    'metrics-allow-remote': { type: 'boolean' },
    'notify-exec': { type: 'string' },
    'notify-on': { type: 'string' },
    'notify-timeout': { type: 'string' },
  });
  if (cmd.values.help) {
    printLine(RECONCILE_HELP);
    return 0;
  }
  const v = cmd.values;
  const fullResyncEvery = v['full-resync-every'] === undefined ? DEFAULT_FULL_RESYNC_EVERY : Number(v['full-resync-every']);
  if (!Number.isInteger(fullResyncEvery) || fullResyncEvery < 1) throw new UsageError('--full-resync-every takes a whole number >= 1');
  const maxDeletions = v['max-deletions'] === undefined ? undefined : Number(v['max-deletions']);
  if (maxDeletions !== undefined && (!Number.isInteger(maxDeletions) || maxDeletions < 0))
    throw new UsageError('--max-deletions takes a whole number');
  const backoff = {
    initialMs: duration('backoff-initial', v['backoff-initial'], DEFAULT_BACKOFF.initialMs),
    maxMs: duration('backoff-max', v['backoff-max'], DEFAULT_BACKOFF.maxMs),
    resetAfterMs: duration('backoff-reset', v['backoff-reset'], DEFAULT_BACKOFF.resetAfterMs),
  };
  let maxBytes = DEFAULT_LOG_POLICY.maxBytes;
  if (v['log-max-size'] !== undefined) {
    const q = parseQuantity(v['log-max-size']);
    if ('error' in q) throw new UsageError(`--log-max-size: ${q.error}`);
    maxBytes = q.bytes;
  }
  const maxFiles = v['log-max-files'] === undefined ? DEFAULT_LOG_POLICY.maxFiles : Number(v['log-max-files']);
  if (!Number.isInteger(maxFiles) || maxFiles < 1 || maxFiles > 100)
    throw new UsageError('--log-max-files takes a whole number from 1 to 100');
  const logPolicy = { maxBytes, maxFiles };
  const subnet = v.subnet ?? DEFAULT_NETWORK_OPTIONS.subnet;
  const parsedSubnet = parseCidr(subnet);
  if ('error' in parsedSubnet) throw new UsageError(`--subnet: ${parsedSubnet.error}`);
  const network = {
    ...DEFAULT_NETWORK_OPTIONS,
    subnet,
    ...(v['cni-conf-dir'] && { confDir: v['cni-conf-dir'] }),
    ...(v['cni-bin-dir'] && { binDir: v['cni-bin-dir'] }),
  };
  const trust = { uids: trustedUids(v['trusted-owner']) };
  const waitMs = v['wait-timeout'] === undefined ? undefined : duration('wait', v['wait-timeout'], 0);
  if (waitMs !== undefined && !v.once) throw new UsageError('--wait needs --once (the watching controller keeps converging by itself)');
  if (waitMs !== undefined && v['dry-run']) throw new UsageError('--wait and --dry-run do not go together');
  const log = createLogger(cmd.logLevel);
  if (
    v.once &&
    (['metrics-addr', 'metrics-allow-remote', 'notify-exec', 'notify-on', 'notify-timeout'] as const).some((k) => v[k] !== undefined)
  )
    throw new UsageError('--metrics-addr and --notify-exec are for the watching controller (drop --once)');
  const watching = v.once ? {} : watchingOptions(v, cmd.config);
  const events = eventJournal(cmd, v.once ? 'reconcile --once' : 'controller', log);
  if (v.once) {
    const { reconcileOnce } = await import('../controller/once.js');
    const dryRun = !!v['dry-run'];
    const startupMs = performance.now();
    const result = await reconcileOnce({
      dir: cmd.dir,
      dirs: cmd.dirs,
      secretsDir: cmd.secretsDir,
      timeouts: cmd.timeouts,
      registries: cmd.config.registries,
      allowEmpty: !!v['allow-empty'],
      ...(cmd.config.usernsPool && { usernsPool: cmd.config.usernsPool }),
      dryRun,
      log,
      backoff,
      logPolicy,
      network,
      trust,
      ...(!dryRun && { events }),
      ...(maxDeletions !== undefined && { maxDeletions }),
      ...(waitMs !== undefined && { waitMs }),
    });
    const passMs = performance.now() - startupMs;
    log.debug(
      { startupMs: Math.round(startupMs * 10) / 10, passMs: Math.round(passMs * 10) / 10 },
      `pass done in ${passMs.toFixed(1)} ms after ${startupMs.toFixed(1)} ms of process start-up`,
    );
    printPass(result, dryRun, printLine);
    if (!result.ok) return 1;
    if (result.converged && !result.converged.done) {
      const c = result.converged;
      printLine(
        `not converged${c.failed.length ? `: failed: ${c.failed.join('; ')}` : ''}${c.pending.length ? `${c.failed.length ? ';' : ':'} waiting: ${c.pending.join('; ')}` : ''}`,
      );
      return 3;
    }
    if (result.converged)
      printLine('converged: every container runs, healthy where it has a health check, and every job others wait on completed');
    return 0;
  }
  if (v['dry-run']) throw new UsageError('--dry-run needs --once (or use pocker plan)');
  withDaemonHeap();
  const { WatchController } = await import('../controller/watch.js');
  const controller = new WatchController({
    dir: cmd.dir,
    dirs: cmd.dirs,
    secretsDir: cmd.secretsDir,
    timeouts: cmd.timeouts,
    registries: cmd.config.registries,
    allowEmpty: !!v['allow-empty'],
    ...(cmd.config.usernsPool && { usernsPool: cmd.config.usernsPool }),
    log,
    backoff,
    logPolicy,
    network,
    trust,
    resyncMs: duration('resync', v.resync, 30_000),
    fullResyncEvery,
    removalDelayMs: duration('removal-delay', v['removal-delay'], 500),
    ...(maxDeletions !== undefined && { maxDeletions }),
    events,
    ...watching,
  });
  // Handlers go in before start(): a signal during start-up waits for it, then stops cleanly.
  const stopped = new Promise<string>((resolve) => {
    process.once('SIGTERM', () => resolve('SIGTERM'));
    process.once('SIGINT', () => resolve('SIGINT'));
  });
  await controller.start();
  process.on('SIGHUP', () => controller.resync());
  const signal = await stopped;
  log.info({ signal }, `${signal}: finishing the current steps; containers keep running`);
  await controller.stop();
  // Every step is finished and every log line written (synchronously); a file watcher handle
  // that chokidar may leave behind must not keep the process alive.
  process.exit(0);
}
