import type { ActualContainer } from '../observe/types.js';
import type { ContainerSpec, RestartBackoff } from '../spec/types.js';

/** Restart delays when neither the spec nor the controller's flags say otherwise. */
export const DEFAULT_BACKOFF: RestartBackoff = { initialMs: 100, maxMs: 300_000, resetAfterMs: 600_000 };

/** The spec's backoff fields over the controller's defaults. */
export function effectiveBackoff(spec: ContainerSpec, defaults: RestartBackoff): RestartBackoff {
  return { ...defaults, ...spec.restartBackoff };
}

/** Delay before the restart that follows `step` quick restarts in a row: initial, doubling, capped. */
export function backoffDelay(step: number, b: RestartBackoff): number {
  return Math.min(b.maxMs, b.initialMs * 2 ** Math.min(step, 40));
}

/** When an exited container may start again and which backoff step that restart is. */
export interface RestartTiming {
  /** Epoch ms before which the restart waits. */
  notBefore: number;
  /** Quick restarts in a row this restart counts as (0 after a run longer than resetAfter). */
  step: number;
}

/** Timing of the next restart of an exited container (pure: the exit record and the record say when and how often). */
export function restartTiming(a: ActualContainer, b: RestartBackoff): RestartTiming {
  const exit = a.exit;
  const ranLong = !!exit && exit.finishedAtMs - exit.startedAtMs >= b.resetAfterMs;
  const step = ranLong ? 0 : (a.record?.backoffStep ?? 0);
  const finished = exit?.finishedAtMs ?? 0;
  return { notBefore: finished + backoffDelay(step, b), step };
}

/** "12s", "1m5s", "300ms": how long until a retry, for reasons and ps. */
export function formatWait(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const s = Math.ceil(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
}
