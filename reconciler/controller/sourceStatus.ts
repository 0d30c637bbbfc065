import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, readdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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
  const id = createHash('sha256').update(dir).digest('hex').slice(0, 16);
  return join(stateDir, '.sources', `${id}.json`);
}

/** Reads the status of one source, or null when no pass has recorded one. */
export function readSourceStatus(stateDir: string, dir: string): SourceStatus | null {
  try {
    return JSON.parse(readFileSync(statusPath(stateDir, dir), 'utf8')) as SourceStatus;
  } catch {
    return null;
  }
}

/** Every recorded source status of an instance. */
export function listSourceStatuses(stateDir: string): SourceStatus[] {
  let names: string[];
  try {
    names = readdirSync(join(stateDir, '.sources')).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.flatMap((n) => {
    try {
      return [JSON.parse(readFileSync(join(stateDir, '.sources', n), 'utf8')) as SourceStatus];
    } catch {
      return [];
    }
  });
}

/** Records a pass over a source (atomically), with the removals it held back, if any. */
export function recordSourceStatus(stateDir: string, load: DirLoad, revision: string | null, ok: boolean, held?: HeldRemovals, now = Date.now()): void {
  const prev = readSourceStatus(stateDir, load.dir);
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
  const path = statusPath(stateDir, load.dir);
  mkdirSync(join(stateDir, '.sources'), { recursive: true, mode: 0o700 });
  writeFileSync(`${path}.tmp`, `${JSON.stringify(status)}\n`, { mode: 0o600 });
  renameSync(`${path}.tmp`, path);
}
