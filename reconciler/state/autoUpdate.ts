import { join } from 'node:path';
import type { Host, HostReader } from '../host/host.js';
import type { InstanceDirs } from './layout.js';

/** One rollback, as status, ps and inspect report it. */
export interface Rollback {
  /** The digest rolled back from (marked bad) and the one running again. */
  bad: string;
  to: string;
  atMs: number;
  reason: string;
}

/**
 * Where a container's auto-update stands (`<data-dir>/auto-update/NAME.json`, durable; it outlives
 * the recreates it makes). idle: nothing under way. updating: moving from `from` to `to`. watching:
 * running `to` since `sinceMs`, rolled back to `from` if it fails before the window passes.
 * rolling-back: moving back from `to` to `from`. The digests in `bad` are never moved to again.
 */
export interface AutoUpdateState {
  phase: 'idle' | 'updating' | 'watching' | 'rolling-back';
  reference: string;
  from?: string;
  to?: string;
  sinceMs?: number;
  /** The container's restart count when the window opened. */
  restartsAtStart?: number;
  bad: string[];
  lastRollback?: Rollback;
  /** The last check of the tag: when, the digest it named, or why it failed. */
  lastCheck?: { atMs: number; digest?: string; error?: string };
}

/** The directory of the auto-update states of an instance. */
export function autoUpdateDir(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'auto-update');
}

function statePath(dirs: InstanceDirs, name: string): string {
  return join(autoUpdateDir(dirs), `${name}.json`);
}

/** A container's auto-update state, or null when it has none (or it is unreadable: nothing under way then). */
export function readAutoUpdate(host: HostReader, dirs: InstanceDirs, name: string): AutoUpdateState | null {
  const text = host.readFile(statePath(dirs, name));
  if (!text) return null;
  try {
    const s = JSON.parse(text) as AutoUpdateState;
    return typeof s.phase === 'string' && Array.isArray(s.bad) ? s : null;
  } catch {
    return null;
  }
}

/** Writes a container's auto-update state durably (each step of an update is recorded before it is taken). */
export function writeAutoUpdate(host: Host, dirs: InstanceDirs, name: string, state: AutoUpdateState): void {
  host.mkdir(autoUpdateDir(dirs), 0o700);
  host.writeFileDurable(statePath(dirs, name), `${JSON.stringify(state)}\n`, 0o600);
}

/** Forgets a removed container's auto-update state. */
export function removeAutoUpdate(host: Host, dirs: InstanceDirs, name: string): void {
  host.removeFile(statePath(dirs, name));
}

/** Every auto-update state of an instance, by container. */
export function listAutoUpdates(host: HostReader, dirs: InstanceDirs): Map<string, AutoUpdateState> {
  const out = new Map<string, AutoUpdateState>();
  for (const f of host.readDir(autoUpdateDir(dirs)) ?? []) {
    if (!f.endsWith('.json')) continue;
    const name = f.slice(0, -'.json'.length);
    const s = readAutoUpdate(host, dirs, name);
    if (s) out.set(name, s);
  }
  return out;
}

/** A short word for where an auto-update stands, as ps marks the image: null when there is nothing to say. */
export function autoUpdateMarker(s: AutoUpdateState | null | undefined): string | null {
  if (!s) return null;
  if (s.phase === 'updating') return 'updating';
  if (s.phase === 'watching') return 'watching';
  if (s.phase === 'rolling-back') return 'rolling back';
  return s.lastRollback ? 'rolled back' : null;
}
