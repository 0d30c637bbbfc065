import { autoUpdateMarker, listAutoUpdates, type AutoUpdateState, type Rollback } from '../state/autoUpdate.js';
import { isCompleted } from '../plan/dependencies.js';
import { observedStatus, type ActualContainer } from '../observe/types.js';
import { describeSource } from '../state/adhoc.js';
import type { Limits } from '../limits/limits.js';
import { DEFAULT_BACKOFF, effectiveBackoff, formatWait, restartTiming } from '../plan/backoff.js';
import { wantsRestart } from '../plan/plan.js';
import { formatBytes } from '../spec/quantity.js';
import { formatDuration } from '../spec/duration.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { table } from './table.js';
import { printLine } from './stdout.js';

export const PS_HELP = `Usage: pocker ps [-o table|json]

Lists every container of this pocker instance (all spec dirs): state, pid of the init (PID 1
inside, as Docker's State.Pid), uptime, the limits read back from the kernel's cgroups, and the image
(a registry reference with the digest the container is pinned to).

Options:
  -o, --output FORMAT   table (default) or json

${GLOBAL_HELP}`;

/** One block device's throttles as read back from the kernel (null = unlimited). */
export interface IoView {
  /** The device's number, "MAJ:MIN". */
  dev: string;
  readBps: number | null;
  writeBps: number | null;
  readIops: number | null;
  writeIops: number | null;
}

/** One row of `ps`, also the JSON shape of `ps -o json`. */
export interface PsEntry {
  name: string;
  state: string;
  pid: number | null;
  monitorPid: number | null;
  startedAt: string | null;
  uptimeSeconds: number | null;
  restartCount: number;
  lastExit: { exitCode: number; signal: number; oomKilled: boolean; finishedAt: string } | null;
  limits: {
    cpus: number | null;
    cpuset: string | null;
    memory: number | null;
    memsw: number | null;
    pids: number | null;
    cpuWeight: number;
    io: IoView[];
  } | null;
  source: string | null;
  /** What it runs: a registry reference with the digest it is pinned to, an imported ref with its digest, or "layers". */
  image: string | null;
  /** Its auto-update: where it stands (updating, watching, rolling back, rolled back) and the last rollback; null without one. */
  autoUpdate: { marker: string | null; phase: AutoUpdateState['phase']; lastRollback: Rollback | null; bad: string[] } | null;
}

/** The image of a record as ps shows it. */
export function imageView(r: ActualContainer['record']): string | null {
  if (!r) return null;
  if (r.spec.image) return `${r.spec.image.reference}@${r.spec.image.digest}`;
  const u = r.user.image;
  if ('ref' in u) return u.digest ? `${u.ref}@${u.digest}` : u.ref;
  if ('reference' in u) return u.reference;
  return 'layers';
}

function limitsView(l: Limits | null): PsEntry['limits'] {
  if (!l) return null;
  const n = (v: number | 'max'): number | null => (v === 'max' ? null : v);
  return {
    cpus: l.cpuQuotaUs === 'max' ? null : Math.round((l.cpuQuotaUs / l.cpuPeriodUs) * 1000) / 1000,
    cpuset: l.cpusetCpus || null,
    memory: n(l.memory),
    memsw: n(l.memsw),
    pids: n(l.pids),
    cpuWeight: l.cpuWeight,
    io: l.io.map((d) => ({ dev: d.dev, readBps: n(d.rbps), writeBps: n(d.wbps), readIops: n(d.riops), writeIops: n(d.wiops) })),
  };
}

function describeState(a: ActualContainer, now: number): string {
  const s = observedStatus(a);
  if (s === 'running' && a.limits?.frozen) return 'paused';
  if (s === 'running' && a.health) return `running (${a.health.status})`;
  if (s !== 'exited' && s !== 'lost') return s;
  const r = a.record!;
  if (r.stoppedAtMs !== undefined) return 'stopped';
  if (isCompleted(a)) return 'completed';
  if (wantsRestart(r.spec.restart, a.exit)) {
    const t = restartTiming(a, r.backoff ?? effectiveBackoff(r.spec, DEFAULT_BACKOFF));
    if (now < t.notBefore) return `backoff (retry in ${formatWait(t.notBefore - now)})`;
  }
  if (!a.exit) return s;
  const e = a.exit;
  if (e.oomKilled) return 'exited (OOM-killed)';
  if (e.signal) return `exited (signal ${e.signal})`;
  return `exited (${e.exitCode})`;
}

/** An image for the table: Docker's short name, the digest cut to 12 hex digits. */
function shortImage(image: string): string {
  return image.replace(/^docker\.io\/(library\/)?/, '').replace(/@sha256:([0-9a-f]{12})[0-9a-f]+$/, '@$1');
}

export function psEntry(a: ActualContainer, now = Date.now(), update: AutoUpdateState | null = null): PsEntry {
  const running = observedStatus(a) === 'running';
  const r = a.record;
  return {
    name: a.name,
    state: describeState(a, now),
    pid: running ? a.pids!.initPid : null,
    monitorPid: a.monitorAlive ? a.pids!.monitorPid : null,
    startedAt: running ? new Date(a.pids!.startedAtMs).toISOString() : null,
    uptimeSeconds: running ? Math.max(0, Math.round((now - a.pids!.startedAtMs) / 1000)) : null,
    restartCount: r?.restartCount ?? 0,
    lastExit: a.exit
      ? {
          exitCode: a.exit.exitCode,
          signal: a.exit.signal,
          oomKilled: a.exit.oomKilled,
          finishedAt: new Date(a.exit.finishedAtMs).toISOString(),
        }
      : null,
    limits: limitsView(a.limits),
    source: r ? describeSource(r.source) : null,
    image: imageView(r),
    autoUpdate: update
      ? { marker: autoUpdateMarker(update), phase: update.phase, lastRollback: update.lastRollback ?? null, bad: update.bad }
      : null,
  };
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { output: { type: 'string', short: 'o' } });
  if (cmd.values.help) {
    printLine(PS_HELP);
    return 0;
  }
  const format = cmd.values.output ?? 'table';
  if (format !== 'table' && format !== 'json') throw new UsageError('-o must be table or json');
  const { observeInstance } = await import('./lookup.js');
  const { host, actual } = observeInstance(cmd.dirs);
  const updates = listAutoUpdates(host, cmd.dirs);
  const entries = [...actual.containers.values()].map((a) => psEntry(a, Date.now(), updates.get(a.name) ?? null));
  if (format === 'json') {
    printLine(JSON.stringify(entries, null, 2));
    return 0;
  }
  const dash = (v: string | number | null | undefined): string => (v === null || v === undefined ? '-' : String(v));
  const rows = entries.map((e) => [
    e.name,
    e.state,
    dash(e.pid),
    e.uptimeSeconds === null ? '-' : e.uptimeSeconds < 1 ? '0s' : formatDuration(e.uptimeSeconds * 1000),
    dash(e.limits?.cpus),
    dash(e.limits?.cpuset),
    e.limits?.memory == null ? '-' : formatBytes(e.limits.memory),
    e.limits?.memsw == null ? '-' : formatBytes(e.limits.memsw),
    dash(e.limits?.pids),
    String(e.restartCount),
    e.image === null ? '-' : `${shortImage(e.image)}${e.autoUpdate?.marker ? ` [${e.autoUpdate.marker}]` : ''}`,
    dash(e.source),
  ]);
  printLine(table(['NAME', 'STATE', 'PID', 'UPTIME', 'CPUS', 'CPUSET', 'MEMORY', 'MEMSW', 'PIDS', 'RESTARTS', 'IMAGE', 'SOURCE'], rows));
  return 0;
}
