import { builtins } from '../builtins.js';
import { join } from 'node:path';
import type { Host, HostReader } from '../host/host.js';
import type { DirLoad } from '../spec/load.js';
import { formatSpecError } from '../spec/types.js';
import type { HeldRemovals } from '../plan/removals.js';

/** What the last passes over one spec dir found (`<state-dir>/.sources/<id>.json`, for `pocker status`). */
export interface SourceStatus {
  dir: string;
  /** The last pass: its revision, time and whether everything converged. */
  lastAttempt: { revision: string | null; atMs: number; ok: boolean } | null;
  /** The last pass in which everything converged. */
  lastApplied: { revision: string | null; atMs: number } | null;
  /** Files with errors in the last pass, with the revision they were read at. */
  failedFiles: Array<{ file: string; revision: string | null; errors: string[] }>;
  /** Removals the last decision kept back (an empty dir, the deletion cap), and since when. */
  removalsHeld?: HeldRemovals & { sinceMs: number };
}

function statusPath(stateDir: string, dir: string): string {
  const id = builtins.crypto().createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return join(stateDir, '.sources', `${id}.json`);
}

/** Reads the status of one source, or null when no pass has recorded one. */
export function readSourceStatus(host: HostReader, stateDir: string, dir: string): SourceStatus | null {
  return parseStatus(host, statusPath(stateDir, dir));
}

function parseStatus(host: HostReader, path: string): SourceStatus | null {
  try {
    return JSON.parse(host.readFile(path) ?? 'null') as SourceStatus | null;
  } catch {
    return null;
  }
}

/** Every recorded source status of an instance. */
export function listSourceStatuses(host: HostReader, stateDir: string): SourceStatus[] {
  const names = (host.readDir(join(stateDir, '.sources')) ?? []).filter((n) => n.endsWith('.json'));
  return names.flatMap((n) => parseStatus(host, join(stateDir, '.sources', n)) ?? []);
}

/** Records a pass over a source (atomically), with the removals it held back, if any. */
export function recordSourceStatus(
  host: Host,
  stateDir: string,
  load: DirLoad,
  revision: string | null,
  ok: boolean,
  held?: HeldRemovals,
  now = Date.now(),
): void {
  const prev = readSourceStatus(host, stateDir, load.dir);
  const byFile = new Map<string, string[]>();
  for (const e of load.errors) {
    const file = e.file.startsWith(`${load.dir}/`) ? e.file.slice(load.dir.length + 1) : e.file;
    byFile.set(file, [...(byFile.get(file) ?? []), formatSpecError(e)]);
  }
  const status: SourceStatus = {
    dir: load.dir,
    lastAttempt: { revision, atMs: now, ok },
    lastApplied: ok ? { revision, atMs: now } : (prev?.lastApplied ?? null),
    failedFiles: [...byFile].map(([file, errors]) => ({ file, revision, errors })),
    ...(held && { removalsHeld: { ...held, sinceMs: prev?.removalsHeld?.reason === held.reason ? prev.removalsHeld.sinceMs : now } }),
  };
  host.mkdir(join(stateDir, '.sources'), 0o700);
  host.writeFileAtomic(statusPath(stateDir, load.dir), `${JSON.stringify(status)}\n`, 0o600);
}
