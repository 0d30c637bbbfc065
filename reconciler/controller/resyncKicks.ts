import type { Action } from '../plan/types.js';

/** What a resync asks of the work queue about a container. */
export interface QueueState {
  /** A delayed add is pending and no run is under way (a backoff running out). */
  waiting(name: string): boolean;
  /** Its work runs now or was asked for. */
  busy(name: string): boolean;
}

/**
 * The containers a resync hands to their workers (pure): those the plan gives something to do, a
 * pending retry or no action at all, and those whose worker is busy anyway (so it looks once
 * more); never one waiting out a delay, nor a removal (removals wait for their decision).
 */
export function resyncKicks(names: Iterable<string>, actions: readonly Action[], queue: QueueState): string[] {
  const byName = new Map(actions.map((a) => [a.name, a]));
  const out: string[] = [];
  for (const name of new Set(names)) {
    const action = byName.get(name);
    if (queue.waiting(name) || action?.kind === 'remove') continue;
    if (queue.busy(name) || !action || action.kind !== 'none' || action.retryAt !== undefined) out.push(name);
  }
  return out;
}
