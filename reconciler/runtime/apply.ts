import type { Action, Plan } from '../plan/types.js';
import { checkHost, removeContainer, startContainer, stopContainer, updateContainer, type RuntimeContext } from './container.js';
import { describeError, RuntimeError } from './errors.js';

/** Outcome of one action. */
export interface ActionResult {
  name: string;
  kind: Action['kind'];
  reason: string;
  ok: boolean;
  /** Error code and message when it failed. */
  errorCode?: string;
  error?: string;
  /** Host pid of the init after a start. */
  pid?: number;
  durationMs: number;
}

/** Observer of action outcomes (the controller logs each once). */
export type ActionListener = (r: ActionResult) => void;

/** Whether an action changes the host. */
export function isMutating(a: Action): boolean {
  return a.kind !== 'none';
}

/** Whether an action needs the cgroup parent to exist. */
export function needsCgroupParent(a: Action): boolean {
  return a.kind === 'create' || a.kind === 'recreate' || a.kind === 'restart';
}

async function run(ctx: RuntimeContext, a: Action): Promise<number | undefined> {
  switch (a.kind) {
    case 'create': {
      checkHost(ctx, a.desired);
      return (await startContainer(ctx, a.desired)).initPid;
    }
    case 'recreate': {
      checkHost(ctx, a.desired);
      await removeContainer(ctx, a.actual);
      return (await startContainer(ctx, a.desired)).initPid;
    }
    case 'restart': {
      checkHost(ctx, a.desired);
      await stopContainer(ctx, a.actual, a.desired.spec.stopGracePeriodMs);
      return (await startContainer(ctx, a.desired, a.actual.record!)).initPid;
    }
    case 'update':
      updateContainer(ctx, a.desired, a.actual, a.limits, a.changed);
      return a.actual.pids?.initPid;
    case 'remove':
      await removeContainer(ctx, a.actual);
      return undefined;
    case 'none':
      return undefined;
  }
}

/**
 * Applies a plan: every container's action runs on its own (concurrently), and one failing never
 * stops the others. Each result carries the error code and message of a failure.
 */
export async function applyPlan(plan: Plan, ctx: RuntimeContext, onResult?: ActionListener): Promise<ActionResult[]> {
  const work = plan.actions.filter(isMutating).map(async (a): Promise<ActionResult> => {
    const t0 = performance.now();
    let result: ActionResult;
    try {
      const pid = await run(ctx, a);
      result = { name: a.name, kind: a.kind, reason: a.reason, ok: true, ...(pid !== undefined && { pid }), durationMs: performance.now() - t0 };
    } catch (e) {
      result = {
        name: a.name,
        kind: a.kind,
        reason: a.reason,
        ok: false,
        errorCode: e instanceof RuntimeError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'ERROR'),
        error: describeError(e),
        durationMs: performance.now() - t0,
      };
    }
    onResult?.(result);
    return result;
  });
  return Promise.all(work);
}
