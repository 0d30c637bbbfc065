import { isCompleted } from '../plan/dependencies.js';
import type { ActualSet } from '../observe/types.js';
import type { DirLoad } from '../spec/load.js';

/** Where a spec dir's containers stand for `reconcile --once --wait`. */
export interface Convergence {
  /** Every container runs (healthy where it has a health check), every job others wait on completed. */
  done: boolean;
  /** Containers that cannot get there without a change: a job that failed and is not restarted. */
  failed: string[];
  /** Containers not there yet, each with why. */
  pending: string[];
}

/** Where the desired containers of a load stand in an observation (pure). */
export function convergence(load: Pick<DirLoad, 'desired'>, actual: ActualSet): Convergence {
  const failed: string[] = [];
  const pending: string[] = [];
  // As compose's --wait: a container is waited for to complete only when another waits for that
  // (condition: completed); otherwise running, and healthy where it has a check, is there.
  const awaitedJobs = new Set(load.desired.flatMap((d) => d.spec.dependsOn.filter((x) => x.condition === 'completed').map((x) => x.name)));
  for (const d of load.desired) {
    const name = d.spec.name;
    const a = actual.containers.get(name);
    if (d.spec.state === 'stopped') continue;
    if (!a?.record) {
      pending.push(`${name}: not created${d.pendingImage ? ` (image ${d.pendingImage.pull})` : ''}`);
      continue;
    }
    const job = d.spec.restart !== 'always' && awaitedJobs.has(name);
    if (isCompleted(a)) continue;
    if (!a.initAlive) {
      const e = a.exit;
      const gaveUp = d.spec.restart === 'never' || (e !== null && e !== undefined && e.exitCode === 0 && e.signal === 0);
      if (e && gaveUp) failed.push(`${name}: exited with code ${e.exitCode}${e.signal ? ` (signal ${e.signal})` : ''}`);
      else pending.push(`${name}: not running`);
      continue;
    }
    if (job) {
      pending.push(`${name}: running (a job: it completes when it exits 0)`);
      continue;
    }
    if (d.spec.healthcheck) {
      const h = a.health;
      if (!h || h.initPid !== a.pids?.initPid || h.status !== 'healthy')
        pending.push(`${name}: ${h && h.initPid === a.pids?.initPid ? h.status : 'starting'}`);
    }
  }
  return { done: failed.length === 0 && pending.length === 0, failed, pending };
}
