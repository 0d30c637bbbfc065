/**
 * Kubernetes objects of a spec file as pocker spec documents (what `parseSpecFile` validates and
 * normalizes like any other): one container per Pod, Deployment (one replica) or Job, a job per
 * init container, with the ConfigMaps, Secrets, PersistentVolumeClaims and Services of the same
 * file mapped to files, secrets, volumes and published ports, and its NetworkPolicies to firewall
 * rules. Every field pocker cannot carry is a
 * problem at its place.
 */
import { stableJson } from '../hash.js';
import type { SpecBuilder } from './builder.js';
import type { KubeProblem, Place } from './cursor.js';
import { readObjects, readResources, type KubeDocument } from './documents.js';
import { importPod, readWorkload, type ImportedPod } from './pod.js';
import { applyNetworkPolicies } from './networkPolicies.js';
import { applyServices } from './services.js';

export { isKubeDocument, type KubeDocument } from './documents.js';
export type { KubeProblem, Place } from './cursor.js';

/** One spec document made from Kubernetes objects, with where each of its fields came from. */
export interface ImportedSpec {
  /** The spec document (pocker's schema names), to be validated as any other. */
  value: Record<string, unknown>;
  name: string;
  /** The index of its workload's document in the file (the spec's source.doc). */
  index: number;
  /** Where a field of the spec came from. */
  origin(path: Array<string | number>): Place;
  /** `K8S_FIELD (specField)` for messages about a field of the spec. */
  describe(path: Array<string | number>): string;
}

/** The outcome of reading a file's Kubernetes documents: specs only when nothing is wrong. */
export interface KubeImport {
  specs: ImportedSpec[];
  problems: KubeProblem[];
}

const asSpec = (b: SpecBuilder): ImportedSpec => ({
  value: b.value,
  name: b.name,
  index: b.index,
  origin: (p) => b.origin(p),
  describe: (p) => b.describe(p),
});

/**
 * The init containers of all workloads, one job per name: the same init container in several
 * Pods (as `pocker export kube` writes a job several containers wait for) is one job; two
 * different ones of one name are a problem.
 */
function jobs(pods: readonly ImportedPod[], problems: KubeProblem[]): SpecBuilder[] {
  const byName = new Map<string, { b: SpecBuilder; pod: ImportedPod }>();
  const out: SpecBuilder[] = [];
  for (const pod of pods)
    for (const b of pod.inits) {
      const prev = byName.get(b.name);
      if (!prev) {
        byName.set(b.name, { b, pod });
        out.push(b);
      } else if (stableJson(prev.b.value) !== stableJson(b.value))
        problems.push({
          ...b.home,
          message: `init container ${b.name} differs from the one of ${prev.pod.workload.name} (document ${prev.pod.workload.object.index + 1}): pocker runs one job ${b.name} for both; make them the same or rename one`,
        });
    }
  return out;
}

/** Reads the Kubernetes documents of one file. */
export function importKubeDocuments(docs: readonly KubeDocument[]): KubeImport {
  const problems: KubeProblem[] = [];
  const objects = readObjects(docs, problems);
  const resources = readResources(objects);
  const pods: ImportedPod[] = [];
  for (const o of objects) {
    if (o.kind !== 'Pod' && o.kind !== 'Deployment' && o.kind !== 'Job') continue;
    const w = readWorkload(o);
    const pod = w && importPod(w, resources);
    if (pod) pods.push(pod);
  }
  applyServices(
    objects.filter((o) => o.kind === 'Service'),
    pods,
  );
  applyNetworkPolicies(
    objects.filter((o) => o.kind === 'NetworkPolicy'),
    pods,
  );
  for (const p of pods) p.main.finishNetwork();
  const specs = [...pods.map((p) => p.main), ...jobs(pods, problems)].map(asSpec);
  return problems.length ? { specs: [], problems } : { specs, problems };
}
