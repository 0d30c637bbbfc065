import type { Action, RestartAction } from '../plan/types.js';
import { containerPaths } from '../state/layout.js';
import { removeAutoUpdate } from '../state/autoUpdate.js';
import { layerHasContent } from '../state/layerContent.js';
import {
  checkHost,
  quarantineRecord,
  removeContainer,
  startContainer,
  terminateWorkload,
  stopContainer,
  updateContainer,
  type RuntimeContext,
} from './container.js';
import { describeError, RuntimeError, isTerminal } from '../host/errors.js';

/** Outcome of one action. */
export interface ActionResult {
  name: string;
  kind: Action['kind'];
  reason: string;
  ok: boolean;
  /** Error code and message when it failed. */
  errorCode?: string;
  error?: string;
  /** The failure cannot be mended by trying again: it waits for a change of the spec or the host. */
  terminal?: boolean;
  /** Host pid of the init after a start. */
  pid?: number;
  durationMs: number;
}

/** Whether an action needs the cgroup parent to exist. */
export function needsCgroupParent(a: Action): boolean {
  // An io change may need the io controller enabled down to containers started before pocker used it.
  return a.kind === 'create' || a.kind === 'recreate' || a.kind === 'restart' || (a.kind === 'update' && a.changed.includes('io'));
}

/** Stops the container if it runs and starts it again on its writable layer. */
async function restartOnLayer(ctx: RuntimeContext, a: RestartAction): Promise<number> {
  checkHost(ctx, a.desired, true);
  if (!a.actual.record) quarantineRecord(ctx, a.actual);
  await terminateWorkload(ctx, a.actual, a.desired.spec.stopGracePeriodMs);
  return (
    await startContainer(ctx, a.desired, a.limits, {
      keepLayer: true,
      restartOf: a.actual.record,
      backoffStep: a.backoffStep,
      lastExit: a.actual.exit,
      ...(a.dependencyRuns && { dependencyRuns: a.dependencyRuns }),
    })
  ).initPid;
}

async function run(ctx: RuntimeContext, a: Action): Promise<number | undefined> {
  switch (a.kind) {
    case 'create': {
      // A writable layer with no record (left by an earlier release) is kept: the container starts on it.
      const orphan = layerHasContent(ctx.host, containerPaths(ctx.dirs, a.name));
      checkHost(ctx, a.desired, orphan);
      if (orphan)
        ctx.warn?.(a.name, `starting on the writable layer found at ${containerPaths(ctx.dirs, a.name).dataDir}, which had no record`);
      return (
        await startContainer(ctx, a.desired, a.limits, { keepLayer: orphan, ...(a.dependencyRuns && { dependencyRuns: a.dependencyRuns }) })
      ).initPid;
    }
    case 'recreate': {
      checkHost(ctx, a.desired);
      await removeContainer(ctx, a.actual);
      return (await startContainer(ctx, a.desired, a.limits, { ...(a.dependencyRuns && { dependencyRuns: a.dependencyRuns }) })).initPid;
    }
    case 'restart':
      return restartOnLayer(ctx, a);
    case 'update':
      if (await updateContainer(ctx, a.desired, a.actual, a.limits, a.changed, a)) return a.actual.pids?.initPid;
      ctx.warn?.(a.name, 'a file to rewrite in place has no host file any more: restarting the container instead');
      return restartOnLayer(ctx, { ...a, kind: 'restart', backoffStep: 0 });
    case 'stop':
      await stopContainer(ctx, a.actual);
      return undefined;
    case 'remove':
      await removeContainer(ctx, a.actual);
      removeAutoUpdate(ctx.host, ctx.dirs, a.name);
      return undefined;
    case 'none':
      return undefined;
  }
}

/** Applies one action; a failure is returned (with its code and message), never thrown. */
export async function runAction(ctx: RuntimeContext, a: Action): Promise<ActionResult> {
  const t0 = performance.now();
  try {
    const pid = await run(ctx, a);
    return {
      name: a.name,
      kind: a.kind,
      reason: a.reason,
      ok: true,
      ...(pid !== undefined && { pid }),
      durationMs: performance.now() - t0,
    };
  } catch (e) {
    return {
      name: a.name,
      kind: a.kind,
      reason: a.reason,
      ok: false,
      errorCode: e instanceof RuntimeError ? e.code : ((e as NodeJS.ErrnoException).code ?? 'ERROR'),
      error: describeError(e),
      ...(isTerminal(e) && { terminal: true }),
      durationMs: performance.now() - t0,
    };
  }
}
