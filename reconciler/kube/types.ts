/** What `pocker export kube` takes and gives: specs in; Kubernetes objects and what they cannot carry out. */
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IPersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import type { IPod } from 'kubernetes-models/v1/Pod';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IJob } from 'kubernetes-models/batch/v1/Job';
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { DesiredContainer } from '../spec/types.js';

/** One Kubernetes object pocker writes (the types of the upstream OpenAPI, through kubernetes-models). */
export type KubeManifest = IPod | IDeployment | IJob | IConfigMap | ISecret | IPersistentVolumeClaim | IService | INetworkPolicy;

/** How the export is made (the command's flags) and what it may look up. */
export interface ExportOptions {
  /** What a container with `restart: always` becomes (the others: Pods and Jobs, whatever this says). */
  kind: 'Pod' | 'Deployment';
  /** Published ports as a Service per container (`service`) or as the Pod's hostPorts (`hostport`). */
  publish: 'service' | 'hostport';
  serviceType: 'ClusterIP' | 'NodePort';
  /** The digest a container's registry image is pinned to on this host, when pocker knows it. */
  pin?(name: string): string | undefined;
  /** The content of a file's `source` as it is now (a ConfigMap holds it), or why it cannot be read. */
  readSource(d: DesiredContainer, source: string): { text: string } | { error: string };
  /** A secret's value, when the values go into Secrets (`--include-secret-values`); never otherwise. */
  secretValue?(name: string): { data: Buffer } | { error: string };
  /** The instance's secrets dir (what the notes tell to copy from). */
  secretsDir: string;
}

/**
 * Something of a spec the export does not carry as pocker means it, or something to know: the
 * spec file, the container, the field and why. `readBack` says whether pocker reads the manifest
 * back to the very same spec (`same`: the difference is on the cluster, and an annotation or the
 * objects keep the spec) or to another one (`differs`: the spec hash changes).
 */
export interface ExportFinding {
  file: string;
  container: string;
  field: string;
  message: string;
  readBack: 'same' | 'differs';
}

/** An exported object, with the workloads (by name) it belongs with: `-o DIR` writes it into each of their files. */
export interface ExportedObject {
  object: KubeManifest;
  workloads: string[];
}

/** The outcome of an export. */
export interface ExportResult {
  objects: ExportedObject[];
  /** What Kubernetes cannot express (`--strict` fails on any). */
  warnings: ExportFinding[];
  /** What to do or know (a Secret to create, a default written out); `--strict` does not count them. */
  notes: ExportFinding[];
}

/** Why an export cannot be made: SOURCE (a file's source cannot be read), SECRET (a secret's value cannot be read), NOTHING (no container to export). */
export type ExportErrorCode = 'SOURCE' | 'SECRET' | 'NOTHING';

/** An export that cannot be made, naming the file and field of each problem. */
export class ExportError extends Error {
  constructor(
    readonly code: ExportErrorCode,
    readonly problems: ReadonlyArray<{ file: string; field: string; message: string }>,
  ) {
    super(problems.map((p) => `${p.file}: ${p.field}: ${p.message}`).join('\n'));
    this.name = 'ExportError';
  }
}
