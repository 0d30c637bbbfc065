import { join } from 'node:path';
import { initAliveNow, observeContainer, observeContainerStamped } from '../observe/observe.js';
import type { ActualContainer, ActualSet } from '../observe/types.js';
import { plan, specLimits } from '../plan/plan.js';
import type { Action, PlanProblem } from '../plan/types.js';
import { needsCgroupParent, runAction, type ActionResult } from '../runtime/apply.js';
import type { RuntimeContext } from '../runtime/container.js';
import type { DirLoad } from '../spec/load.js';
import type { RestartBackoff } from '../spec/types.js';
import { locksDir } from '../state/layout.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_TIMEOUTS } from '../host/timeouts.js';
import type { WorkResult } from './workQueue.js';
import { firewallViews } from './firewalls.js';
import type { EventSink } from '../state/events.js';
import { actionEvent, reportExit } from './events.js';

/** What every container of one pass (or of the watching controller) is reconciled against. */
export interface PassState {
  /** The spec dir as given: the owner key. */
  source: string;
  load: DirLoad;
  ctx: RuntimeContext;
  allowEmpty: boolean;
  backoff: RestartBackoff;
  log: Logger;
  /** Whether a removal may happen now (quiet period, deletion cap); default yes. */
  mayRemove?: (name: string) => boolean;
  /** Makes sure the cgroup parent exists (once per pass). */
  ensureParent: () => void;
  /** Registry images move their containers to the digest the load resolved (`pocker image update`). */
  movePins?: boolean;
  /**
   * Observe a started container in full under its lock and return that as `after` (the watching
   * controller keeps it); otherwise only whether its init still lives is read.
   */
  observeAfterStart?: boolean;
  /** Where what happens is told (the events journal, hooks, metrics); none when absent. */
  events?: EventSink;
}

/** What reconciling one container did. */
export interface ContainerOutcome {
  name: string;
  /** The action decided under the container's lock (what was really done). */
  action: Action;
  result: ActionResult | null;
  problems: PlanProblem[];
  /** When to look at the container again (controller-runtime's Result): a backoff running out, a start that already ended, a failure. */
  requeue: WorkResult;
  /** The container as observed under the lock after a start (undefined for other actions). */
  after?: ActualContainer | null;
}

/** Logs an action's outcome once, with container, action, reason and duration. */
export function logResult(log: Logger, r: ActionResult): void {
  const fields = {
    container: r.name,
    action: r.kind,
    reason: r.reason,
    durationMs: Math.round(r.durationMs * 10) / 10,
    ...(r.pid && { pid: r.pid }),
  };
  if (r.ok) log.info(fields, `${r.kind} ${r.name}`);
  else
    log.error(
      { ...fields, code: r.errorCode, error: r.error, terminal: !!r.terminal },
      `${r.kind} ${r.name} failed: ${r.error}${r.terminal ? ' (not retried until the spec or the host changes)' : ''}`,
    );
}

/**
 * Reconciles one container: under its lock (so two controllers never act on it at once), observe
 * it from the kernel, plan it against the desired set, apply. `force` replaces a planned "none"
 * or "update" by a restart on the same writable layer (`pocker restart`), except for a spec that
 * says `state: stopped`.
 */
export async function reconcileOne(pass: PassState, name: string, force?: 'restart'): Promise<ContainerOutcome> {
  const { host, driver, dirs } = pass.ctx;
  const release = await host.lock(join(locksDir(dirs), name), (pass.ctx.timeouts ?? DEFAULT_TIMEOUTS).lockMs);
  try {
    const a = observeContainer(host, dirs, driver, name);
    if (a && pass.events) reportExit(host, dirs, a, pass.events);
    const actual: ActualSet = { containers: a ? new Map([[name, a]]) : new Map(), leftovers: [], strangers: [] };
    const desired = pass.load.desired.filter((d) => d.spec.name === name);
    const dependencies = new Map<string, ActualContainer>();
    for (const dep of desired[0]?.spec.dependsOn ?? []) {
      const o = observeContainer(host, dirs, driver, dep.name);
      if (o) dependencies.set(dep.name, o);
    }
    const firewalls = await firewallViews(host, dirs, desired, actual.containers);
    const p = plan({
      source: pass.source,
      load: { ...pass.load, desired },
      actual,
      facts: pass.ctx.facts,
      allowEmpty: pass.allowEmpty,
      now: Date.now(),
      backoff: pass.backoff,
      ...(pass.movePins && { movePins: true }),
      dependencies,
      firewalls,
    });
    let action: Action = p.actions.find((x) => x.name === name) ?? {
      kind: 'none',
      name,
      reason: a ? 'not managed by this spec dir' : 'no container and no spec',
    };
    if (
      force === 'restart' &&
      desired[0] &&
      desired[0].spec.state !== 'stopped' &&
      a &&
      (action.kind === 'none' || action.kind === 'update')
    ) {
      action = {
        kind: 'restart',
        name,
        desired: desired[0],
        actual: a,
        limits: specLimits(desired[0], pass.ctx.facts),
        backoffStep: 0,
        reason: 'restart requested',
      };
    }
    if (action.kind === 'remove' && pass.mayRemove && !pass.mayRemove(name)) {
      action = { kind: 'none', name, reason: 'removal held back (quiet period or deletion cap)' };
    }
    if (action.kind === 'none') {
      return {
        name,
        action,
        result: null,
        problems: p.problems,
        requeue: action.retryAt ? { requeueAfterMs: Math.max(1, action.retryAt - Date.now()) } : {},
      };
    }
    if (needsCgroupParent(action)) pass.ensureParent();
    const result = await runAction(pass.ctx, action);
    logResult(pass.log, result);
    const event = pass.events && actionEvent(pass.source, action, result);
    if (event) pass.events!.emit(event);
    if (!result.ok)
      return { name, action, result, problems: p.problems, requeue: { failed: true, ...(result.terminal && { terminal: true }) } };
    if (action.kind !== 'create' && action.kind !== 'recreate' && action.kind !== 'restart')
      return { name, action, result, problems: p.problems, requeue: {} };
    // A workload that exited before its start was even recorded has no monitor left to watch:
    // look again at once (the plan then restarts it, after its backoff, or leaves it exited).
    if (!pass.observeAfterStart)
      return { name, action, result, problems: p.problems, requeue: initAliveNow(host, dirs, name) ? {} : { requeueAfterMs: 0 } };
    const after = observeContainerStamped(host, dirs, driver, name);
    return { name, action, result, problems: p.problems, requeue: after && !after.initAlive ? { requeueAfterMs: 0 } : {}, after };
  } finally {
    release();
  }
}
