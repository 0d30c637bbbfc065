import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { Job } from 'kubernetes-models/batch/v1/Job';
import { NetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { PersistentVolumeClaim } from 'kubernetes-models/v1/PersistentVolumeClaim';
import { Pod } from 'kubernetes-models/v1/Pod';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import type { KubeManifest } from '../../reconciler/kube/types.js';
import { packageRoot } from '../../reconciler/native.js';

/** The kubernetes-models class of each kind pocker writes: generated from the upstream OpenAPI, validate() checks against it. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Pod': Pod,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'batch/v1/Job': Job,
  'networking.k8s.io/v1/NetworkPolicy': NetworkPolicy,
};

/**
 * What the Kubernetes OpenAPI schema says is wrong with an object (empty when it is valid),
 * checked on a JSON copy (what the YAML carries). An apiVersion/kind without a model is an error.
 */
export function kubeSchemaErrors(o: KubeManifest | Record<string, unknown>): string[] {
  const json = JSON.parse(JSON.stringify(o)) as { apiVersion?: string; kind?: string; metadata?: { name?: string } };
  const Model = MODELS[`${json.apiVersion}/${json.kind}`];
  if (!Model) return [`${json.apiVersion}/${json.kind}: no model`];
  try {
    new Model(json as never).validate();
    return [];
  } catch (e) {
    return [`${json.kind}/${json.metadata?.name}: ${(e as Error).message}`];
  }
}

/** The README's section on Kubernetes. */
export function kubeReadme(): string {
  const text = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  const start = text.indexOf('## Moving to Kubernetes and back');
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

/** The fields the README's table of export warnings documents (the code spans of its first column). */
export function documentedWarningFields(): Set<string> {
  const lines = kubeReadme().split('\n');
  const header = lines.findIndex((l) => l.startsWith('| field | on the cluster | read back |'));
  const out = new Set<string>();
  for (const l of lines.slice(header + 2)) {
    if (!l.startsWith('|')) break;
    for (const m of l.split('|')[1]!.matchAll(/`([^`]+)`/g)) out.add(m[1]!);
  }
  return out;
}

/** A finding's field as the README documents it: without list indexes (`mounts[0]` is `mounts`). */
export const documentedField = (field: string): string => field.replace(/\[\d+\]/g, '');
