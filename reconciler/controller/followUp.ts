import type { CgroupDriver } from '../cgroups/driver.js';
import type { Host } from '../host/host.js';
import type { Logger } from '../log/logger.js';
import { monitorBinary } from '../native.js';
import { observe } from '../observe/observe.js';
import { plan } from '../plan/plan.js';
import type { ActionResult } from '../runtime/apply.js';
import type { DirLoad } from '../spec/load.js';
import type { InstanceDirs } from '../state/layout.js';
import { convergence, type Convergence } from './convergence.js';
import { HealthChecker } from './health.js';
import { refreshHosts } from '../network/names.js';
import type { PassState } from './reconcileOne.js';

/** How often a waiting pass looks again (health checks run at most this often, or their own interval when shorter). */
const POLL_MS = 250;

/** What a pass does after its first round of actions. */
export interface FollowUpOptions {
  host: Host;
  dirs: InstanceDirs;
  driver: CgroupDriver;
  load: DirLoad;
  pass: PassState;
  /** Reconciles these containers (each under its lock); returns what was done. */
  run: (names: string[]) => Promise<ActionResult[]>;
  log: Logger;
  /** Wait this long for convergence, running health checks meanwhile (`--wait`). */
  waitMs?: number;
  /** What the first round did (a container that failed in this pass is not tried again by it). */
  done: readonly ActionResult[];
  /** The containers the first round's plan held back for their dependencies. */
  held: ReadonlySet<string>;
}

/** Whether a plan's "none" holds a container back for its dependencies. */
export function heldByDependencies(a: { kind: string; reason: string }): boolean {
  return a.kind === 'none' && a.reason.startsWith('waiting: ');
}

/**
 * The rounds of a `reconcile --once` pass after its first: containers held back by their
 * dependencies are planned again as the dependencies get there. Without waitMs it goes on while
 * each round starts something (a dependency started in this pass lets its dependents start) and
 * then returns, reporting the rest as waiting. With waitMs it also runs the health checks of the
 * spec dir's containers and waits for jobs to complete, until everything converged, something
 * failed for good (a job that exited non-zero with restart: never), or the time is up.
 */
export async function followUp(o: FollowUpOptions): Promise<{ results: ActionResult[]; converged?: Convergence }> {
  const results: ActionResult[] = [];
  const deadline = o.waitMs !== undefined ? Date.now() + o.waitMs : null;
  // Nothing held back and nothing to wait for: no round would start anything.
  if (deadline === null && !o.held.size) return { results };
  const health =
    deadline === null
      ? null
      : new HealthChecker({
          host: o.host,
          dirs: o.dirs,
          driver: o.driver,
          monitorBinary: o.pass.ctx.monitorBinary ?? monitorBinary(),
          log: o.log,
          onUnhealthy: () => {},
          ...(o.pass.events && { events: o.pass.events }),
        });
  const lastCheck = new Map<string, number>();
  const failed = new Set(o.done.filter((r) => !r.ok).map((r) => r.name));
  let waiting: ReadonlySet<string> = o.held;
  for (;;) {
    refreshHosts(o.host, o.dirs);
    const actual = observe(o.host, o.dirs, o.driver);
    const p = plan({
      source: o.pass.source,
      load: o.load,
      actual,
      facts: o.pass.ctx.facts,
      allowEmpty: o.pass.allowEmpty,
      now: Date.now(),
      backoff: o.pass.backoff,
    });
    const held = new Set(p.actions.filter(heldByDependencies).map((a) => a.name));
    // Without --wait only what dependencies held back is taken up again; with it also a restart
    // after its backoff (a container that must run before the pass can return).
    const todo = p.actions
      .filter((a) => a.kind !== 'none' && a.kind !== 'remove' && !failed.has(a.name) && (deadline !== null || waiting.has(a.name)))
      .map((a) => a.name);
    waiting = held;
    if (todo.length) {
      const r = (await o.run(todo)).filter((x) => x.kind !== 'none');
      for (const x of r) if (!x.ok) failed.add(x.name);
      results.push(...r);
      if (r.length) continue;
    }
    if (deadline === null) return { results };
    const c = convergence(o.load, actual);
    if (c.done || c.failed.length || Date.now() >= deadline) return { results, converged: c };
    const now = Date.now();
    const checks: Array<Promise<unknown>> = [];
    for (const d of o.load.desired) {
      const a = actual.containers.get(d.spec.name);
      const hc = d.spec.healthcheck;
      if (!hc || !a?.initAlive || !a.record) continue;
      if (now - (lastCheck.get(d.spec.name) ?? 0) < Math.min(hc.intervalMs, POLL_MS * 4)) continue;
      lastCheck.set(d.spec.name, now);
      checks.push(health!.checkOnce(a, a.record.spec));
    }
    await Promise.all(checks);
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
