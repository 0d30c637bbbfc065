import { join } from 'node:path';
import { observeContainer } from '../observe/observe.js';
import type { ActualSet } from '../observe/types.js';
import { plan } from '../plan/plan.js';
import type { Action, PlanProblem } from '../plan/types.js';
import { needsCgroupParent, runAction, type ActionResult } from '../runtime/apply.js';
import type { RuntimeContext } from '../runtime/container.js';
import type { DirLoad } from '../spec/load.js';
import type { RestartBackoff } from '../spec/types.js';
import { locksDir } from '../state/layout.js';
import type { Logger } from '../log/logger.js';
import { DEFAULT_TIMEOUTS } from '../host/timeouts.js';

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
}

/** What reconciling one container did. */
export interface ContainerOutcome {
  name: string;
  /** The action decided under the container's lock (what was really done). */
  action: Action;
  result: ActionResult | null;
  problems: PlanProblem[];
}

/** Logs an action's outcome once, with container, action, reason and duration. */
export function logResult(log: Logger, r: ActionResult): void {
  const fields = { container: r.name, action: r.kind, reason: r.reason, durationMs: Math.round(r.durationMs * 10) / 10, ...(r.pid && { pid: r.pid }) };
  if (r.ok) log.info(fields, `${r.kind} ${r.name}`);
  else log.error({ ...fields, code: r.errorCode, error: r.error }, `${r.kind} ${r.name} failed: ${r.error}`);
}

/**
 * Reconciles one container: under its lock (so two controllers never act on it at once), observe
 * it from the kernel, plan it against the desired set, apply. `force` replaces a planned "none"
 * or "update" by a restart on the same writable layer (`pocker restart`), except for a spec that
 * says `state: stopped`.
 */
export async function reconcileOne(ps: PassState, name: string, force?: 'restart'): Promise<ContainerOutcome> {
  const { host, driver, dirs } = ps.ctx;
  const release = await host.lock(join(locksDir(dirs), name), (ps.ctx.timeouts ?? DEFAULT_TIMEOUTS).lockMs);
  try {
    const a = observeContainer(host, dirs, driver, name);
    const actual: ActualSet = { containers: a ? new Map([[name, a]]) : new Map(), leftovers: [], strangers: [] };
    const desired = ps.load.desired.filter((d) => d.spec.name === name);
    const p = plan({ source: ps.source, load: { ...ps.load, desired }, actual, facts: ps.ctx.facts, allowEmpty: ps.allowEmpty, now: Date.now(), backoff: ps.backoff });
    let action: Action = p.actions.find((x) => x.name === name) ?? { kind: 'none', name, reason: a ? 'not managed by this spec dir' : 'no container and no spec' };
    if (force === 'restart' && desired[0] && desired[0].spec.state !== 'stopped' && a && (action.kind === 'none' || action.kind === 'update')) {
      action = { kind: 'restart', name, desired: desired[0], actual: a, backoffStep: 0, reason: 'restart requested' };
    }
    if (action.kind === 'remove' && ps.mayRemove && !ps.mayRemove(name)) {
      action = { kind: 'none', name, reason: 'removal held back (quiet period or deletion cap)' };
    }
    if (action.kind === 'none') return { name, action, result: null, problems: p.problems };
    if (needsCgroupParent(action)) ps.ensureParent();
    const result = await runAction(ps.ctx, action);
    logResult(ps.log, result);
    return { name, action, result, problems: p.problems };
  } finally {
    release();
  }
}
