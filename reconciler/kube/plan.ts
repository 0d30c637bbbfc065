/**
 * Which object each container becomes: a container with `restart: always` a Pod (or a
 * Deployment), one with `on-failure` a Pod, one with `never` a Job; a job (`restart` not always,
 * no health check: an init container has no probes) another exported container waits for with
 * `condition: completed` an init container of each dependent's Pod (and not an object of its own). A Pod's init containers come in an order that
 * runs every one after those it waits for.
 */
import type { DesiredContainer } from '../spec/types.js';
import type { ExportOptions } from './types.js';

/** One workload to write: its container, its init containers in order, and its kind. */
export interface WorkloadPlan {
  main: DesiredContainer;
  inits: DesiredContainer[];
  kind: 'Pod' | 'Deployment' | 'Job';
}

/** A job that can run as an init container: it runs to completion, and has no health check (an init container has no probes). */
const isInitJob = (d: DesiredContainer): boolean => d.spec.restart !== 'always' && !d.spec.healthcheck;

/**
 * The containers to export (the given ones and the jobs they wait for, which must be in `all`)
 * as workloads, sorted by name; and the names of the containers that are init containers.
 */
export function planWorkloads(
  selected: readonly DesiredContainer[],
  all: readonly DesiredContainer[],
  opts: Pick<ExportOptions, 'kind'>,
): { workloads: WorkloadPlan[]; inits: Set<string> } {
  const byName = new Map(all.map((d) => [d.spec.name, d]));
  const waitedFor = (d: DesiredContainer): DesiredContainer[] =>
    d.spec.dependsOn.flatMap((dep) => {
      const t = byName.get(dep.name);
      return dep.condition === 'completed' && t && isInitJob(t) ? [t] : [];
    });
  const exported = new Map<string, DesiredContainer>();
  const add = (d: DesiredContainer): void => {
    if (exported.has(d.spec.name)) return;
    exported.set(d.spec.name, d);
    waitedFor(d).forEach(add);
  };
  selected.forEach(add);
  const inits = new Set<string>();
  for (const d of exported.values()) for (const j of waitedFor(d)) inits.add(j.spec.name);
  const workloads: WorkloadPlan[] = [];
  for (const d of [...exported.values()].sort((a, b) => (a.spec.name < b.spec.name ? -1 : 1))) {
    if (inits.has(d.spec.name)) continue;
    const order: DesiredContainer[] = [];
    const visit = (x: DesiredContainer): void => {
      for (const j of waitedFor(x)) {
        if (order.includes(j)) continue;
        visit(j);
        order.push(j);
      }
    };
    visit(d);
    const kind = d.spec.restart === 'never' ? 'Job' : d.spec.restart === 'always' ? opts.kind : 'Pod';
    workloads.push({ main: d, inits: order, kind });
  }
  return { workloads, inits };
}
