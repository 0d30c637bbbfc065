import type { ActualContainer } from '../observe/types.js';
import type { ContainerRecord } from '../state/records.js';
import type { DesiredContainer } from '../spec/types.js';

/** How the plan looks at the other containers a spec depends on. */
export type DependencyView = (name: string) => ActualContainer | undefined;

/** A job that is done: it exited 0 and its restart policy does not run it again. */
export function isCompleted(a: ActualContainer): boolean {
  const e = a.exit;
  return (
    !a.initAlive &&
    !!a.record &&
    a.record.spec.restart !== 'always' &&
    a.record.stoppedAtMs === undefined &&
    !!e &&
    e.exitCode === 0 &&
    e.signal === 0 &&
    !e.oomKilled
  );
}

/** Why a dependency does not meet its condition yet, or null when it does. */
function unmet(dep: DesiredContainer['spec']['dependsOn'][number], a: ActualContainer | undefined): string | null {
  if (!a?.record) return `${dep.name} not created`;
  if (dep.condition === 'completed') {
    if (isCompleted(a)) return null;
    if (a.initAlive) return `${dep.name} not completed (running)`;
    return a.exit
      ? `${dep.name} not completed (it failed: exit ${a.exit.exitCode}${a.exit.signal ? `, signal ${a.exit.signal}` : ''})`
      : `${dep.name} not completed`;
  }
  if (dep.condition === 'started') return a.initAlive || isCompleted(a) ? null : `${dep.name} not started`;
  if (!a.initAlive) return `${dep.name} not healthy (not running)`;
  const h = a.health;
  if (h?.status === 'healthy' && h.initPid === a.pids?.initPid) return null;
  return `${dep.name} not healthy (${h && h.initPid === a.pids?.initPid ? h.status : 'starting'})`;
}

/** The dependencies of a spec that do not meet their condition, each with why. */
export function unmetDependencies(d: DesiredContainer, view: DependencyView): string[] {
  return d.spec.dependsOn.flatMap((dep) => unmet(dep, view(dep.name)) ?? []);
}

/** Which run of each dependency a start follows: its record's creation time (a recreate makes a new one). */
export function dependencyRuns(d: DesiredContainer, view: DependencyView): Record<string, number> {
  const out: Record<string, number> = {};
  for (const dep of d.spec.dependsOn) {
    const created = view(dep.name)?.record?.createdAtMs;
    if (created !== undefined) out[dep.name] = created;
  }
  return out;
}

/** The restartWith dependencies recreated since this container started (it restarts with them). */
export function recreatedDependencies(d: DesiredContainer, rec: ContainerRecord, view: DependencyView): string[] {
  return d.spec.dependsOn
    .filter((dep) => dep.restartWith)
    .filter((dep) => {
      const now = view(dep.name)?.record?.createdAtMs;
      const then = rec.dependencyRuns?.[dep.name];
      return now !== undefined && then !== undefined && now !== then;
    })
    .map((dep) => dep.name);
}

/** The containers of a desired set that depend on name (they look again when it changes). */
export function dependentsOf(desired: readonly DesiredContainer[], name: string): string[] {
  return desired.filter((d) => d.spec.dependsOn.some((dep) => dep.name === name)).map((d) => d.spec.name);
}
