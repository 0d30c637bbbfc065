/**
 * pocker specs → Kubernetes objects (`pocker export kube`). Pure: the desired containers and the
 * options in (lookups of pins, file sources and secret values through them); the objects, and
 * what they do not carry as pocker means it, out. Every object is labelled
 * `app.kubernetes.io/managed-by: pocker` and annotated with the spec file it comes from.
 */
import { MANAGED_BY_LABEL, NAME_LABEL } from '../spec/kube/annotations.js';
import type { DesiredContainer } from '../spec/types.js';
import { SharedObjects } from './context.js';
import { exportWorkload } from './pod.js';
import { planWorkloads } from './plan.js';
import { Report } from './report.js';
import { ExportError, type ExportedObject, type ExportOptions, type ExportResult } from './types.js';

/** The labels of an exported object (with the container's name, for what belongs to one container). */
function labels(name?: string): Record<string, string> {
  return { [MANAGED_BY_LABEL]: 'pocker', ...(name !== undefined && { [NAME_LABEL]: name }) };
}

/** The order objects are written in: what workloads use first (kubectl apply takes any order; a reader finds them first). */
const KIND_ORDER = ['PersistentVolumeClaim', 'ConfigMap', 'Secret', 'Job', 'Pod', 'Deployment', 'Service', 'NetworkPolicy'];

/**
 * Exports `selected` (every container of `all` when null), and the jobs they wait for, from the
 * containers of one spec dir.
 */
export function exportKube(all: readonly DesiredContainer[], selected: readonly string[] | null, opts: ExportOptions): ExportResult {
  const chosen = selected ? all.filter((d) => selected.includes(d.spec.name)) : [...all];
  if (!chosen.length) throw new ExportError('NOTHING', [{ file: '(specs)', field: 'name', message: 'no container to export' }]);
  const { workloads } = planWorkloads(chosen, all, opts);
  const initOwners = new Map<string, string[]>();
  for (const w of workloads)
    for (const j of w.inits) initOwners.set(j.spec.name, [...(initOwners.get(j.spec.name) ?? []), w.main.spec.name]);
  const report = new Report();
  const shared = new SharedObjects();
  const env = { report, opts, shared, labels, initOwners, all };
  const own: ExportedObject[] = [];
  for (const w of workloads) for (const object of exportWorkload(w, env)) own.push({ object, workloads: [w.main.spec.name] });
  const objects = [...shared.all(), ...own].sort((a, b) => KIND_ORDER.indexOf(a.object.kind) - KIND_ORDER.indexOf(b.object.kind));
  return { objects, warnings: report.warnings, notes: report.notes };
}
