import type { ActualContainer } from '../observe/types.js';
import type { AutoUpdateState } from '../state/autoUpdate.js';
import type { ExitRecord } from '../state/records.js';

/** Restarts within the window that make a new version fail. */
export const ROLLBACK_RESTARTS = 3;

/**
 * Why a new version under watch has failed, or null: it exited with a non-zero code (or was
 * killed), restarted ROLLBACK_RESTARTS times, or its health check says unhealthy.
 */
export function rollbackReason(state: AutoUpdateState, a: ActualContainer | undefined): string | null {
  if (state.phase !== 'watching' || !a?.record) return null;
  if (a.record.spec.image?.digest !== state.to) return null;
  // Every run while the record pins `to` is the new version's (a move starts from a fresh record):
  // the exit of the run that ended now, or of the run before a restart the policy already made.
  const failed = (e: ExitRecord | null | undefined): e is ExitRecord => !!e && (e.exitCode !== 0 || e.signal !== 0 || e.oomKilled);
  const e = !a.initAlive && failed(a.exit) ? a.exit : failed(a.record.lastExit) ? a.record.lastExit : null;
  if (e) return e.oomKilled ? 'it was OOM-killed' : e.signal ? `it was killed by signal ${e.signal}` : `it exited with code ${e.exitCode}`;
  const restarts = a.record.restartCount - (state.restartsAtStart ?? 0);
  if (restarts >= ROLLBACK_RESTARTS) return `it restarted ${restarts} times`;
  if (a.health?.status === 'unhealthy') return `its health check failed ${a.health.failingStreak} times in a row`;
  return null;
}

/** Whether a watched version has lasted its window. */
export function windowPassed(state: AutoUpdateState, windowMs: number, now: number): boolean {
  return state.phase === 'watching' && state.sinceMs !== undefined && now - state.sinceMs >= windowMs;
}

/** What an auto-update would do for a container pinned to `pinned` when its tag names `current`. */
export type UpdateDecision = 'current' | 'update' | 'bad' | 'busy';

/** The decision for one container (busy: an update or its window is under way). */
export function updateDecision(state: AutoUpdateState | null, pinned: string, current: string): UpdateDecision {
  if (state && state.phase !== 'idle') return 'busy';
  if (current === pinned) return 'current';
  if (state?.bad.includes(current)) return 'bad';
  return 'update';
}
