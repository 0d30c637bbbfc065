/** What the export of one container writes into: its Pod (volumes, annotations) and the objects shared by the export. */
import type { IVolume } from 'kubernetes-models/v1/Volume';
import { annotationKey, type AnnotationKey } from '../spec/kube/annotations.js';
import type { DesiredContainer } from '../spec/types.js';
import { dnsLabel, UniqueNames } from './names.js';
import type { WorkloadPlan } from './plan.js';
import type { Report } from './report.js';
import type { ExportOptions, KubeManifest } from './types.js';

/** The Pod being written: its volumes (names unique within it) and its workload's annotations. */
export class PodBuild {
  readonly volumes: IVolume[] = [];
  readonly annotations: Record<string, string> = {};
  readonly #names = new UniqueNames((h) => dnsLabel(h));

  constructor(readonly plan: WorkloadPlan) {}

  /** Adds a volume under a name made of `hint`; returns the name. */
  volume(hint: string, source: Omit<IVolume, 'name'>): string {
    const name = this.#names.take(hint);
    this.volumes.push({ name, ...source });
    return name;
  }

  /** The one volume of a claim, shared by the containers of the Pod that mount it. */
  claimVolume(claim: string): string {
    const found = this.volumes.find((v) => v.persistentVolumeClaim?.claimName === claim);
    return found ? found.name : this.volume(`vol-${claim}`, { persistentVolumeClaim: { claimName: claim } });
  }

  /** Sets an annotation of a container: `pocker.io/KEY`, or `INIT.pocker.io/KEY` for an init container. */
  annotate(key: AnnotationKey, init: string | undefined, value: string): void {
    this.annotations[annotationKey(key, init)] = value;
  }
}

/** Objects shared by the workloads of an export (ConfigMaps, Secrets, PersistentVolumeClaims), each once. */
export class SharedObjects {
  readonly #byKey = new Map<string, { object: KubeManifest; workloads: string[] }>();

  /** Adds an object (the first of a kind and name wins) for a workload; returns whether it was new. */
  add(object: KubeManifest, workload: string): boolean {
    const key = `${object.kind}/${object.metadata?.name ?? ''}`;
    const hit = this.#byKey.get(key);
    if (hit) {
      if (!hit.workloads.includes(workload)) hit.workloads.push(workload);
      return false;
    }
    this.#byKey.set(key, { object, workloads: [workload] });
    return true;
  }

  get(kind: string, name: string): KubeManifest | undefined {
    return this.#byKey.get(`${kind}/${name}`)?.object;
  }

  all(): Array<{ object: KubeManifest; workloads: string[] }> {
    return [...this.#byKey.values()];
  }
}

/** A container of a Pod: the Pod's own, or an init container (with what it takes from the Pod unless annotated). */
export type Role =
  | { kind: 'main' }
  | {
      kind: 'init';
      /** What pocker reads back for it from the Pod: the restart policy and the network mode. */
      derivedRestart: 'on-failure' | 'never';
      derivedMode: 'none' | 'host' | 'bridge';
      /** The init container before it (it waits for that one on Kubernetes). */
      previous?: string;
    };

/** Everything the export of one container needs. */
export interface ContainerContext {
  d: DesiredContainer;
  role: Role;
  pod: PodBuild;
  shared: SharedObjects;
  report: Report;
  opts: ExportOptions;
  /** The init container's name for its annotations; undefined for the Pod's container. */
  init?: string;
  /** The labels of an exported object (with the container's name for what belongs to one container). */
  labels: (name?: string) => Record<string, string>;
  /** The `pocker.io/source` annotation of an object made for this container. */
  sourceAnnotation: Record<string, string>;
}
