/**
 * The Kubernetes objects of a spec file: workloads (Pod, Deployment, Job) and the ConfigMaps,
 * Secrets, PersistentVolumeClaims, Services and NetworkPolicies they use, each checked for what
 * pocker takes.
 */
import type { Document } from 'yaml';
import { ANNOTATION, POCKER_DOMAIN, splitAnnotationKey } from './annotations.js';
import { Cursor, type KubeProblem } from './cursor.js';
import { METADATA, NOT_SUPPORTED } from './rules.js';

/** One document of a spec file that is a Kubernetes object. */
export interface KubeDocument {
  doc: Document;
  /** Its index among the file's documents. */
  index: number;
  value: unknown;
}

/** Whether a document is a Kubernetes object rather than a pocker spec: it has a kind, and no pocker apiVersion. */
export function isKubeDocument(value: unknown): boolean {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const v = value as Record<string, unknown>;
  return v.apiVersion !== 'pocker/v1' && 'kind' in v;
}

/** The kinds a spec file may hold, by apiVersion and kind. */
export const KINDS = {
  Pod: 'v1',
  Deployment: 'apps/v1',
  Job: 'batch/v1',
  ConfigMap: 'v1',
  Secret: 'v1',
  PersistentVolumeClaim: 'v1',
  Service: 'v1',
  NetworkPolicy: 'networking.k8s.io/v1',
} as const;

/** A kind pocker reads. */
export type Kind = keyof typeof KINDS;

/** A Kubernetes object's name, labels and annotations. */
export interface Meta {
  name: string;
  labels: Record<string, string>;
  /** The `pocker.io/` annotations by key, each at its place. */
  pocker: Map<string, Cursor>;
}

/** One object of the file, with its kind and metadata read. */
export interface KubeObject {
  kind: Kind;
  root: Cursor;
  meta: Meta;
  index: number;
}

/** A ConfigMap's data. */
export interface ConfigMapData {
  root: Cursor;
  data: Record<string, string>;
  binary: Set<string>;
}

/** What the workloads of a file may refer to by name. */
export interface FileResources {
  configMaps: Map<string, ConfigMapData>;
  secrets: Map<string, Cursor>;
  /** PersistentVolumeClaim name → pocker volume name. */
  claims: Map<string, string>;
}

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Reads an object's metadata: a name (a DNS subdomain) is required; the rest must be metadata pocker takes. */
export function readMeta(metadata: Cursor): Meta | null {
  metadata.keys(METADATA, NOT_SUPPORTED);
  if (!metadata.present) {
    metadata.refuse('is missing: the object needs a name');
    return null;
  }
  if (!metadata.map()) return null;
  const nameAt = metadata.at('name');
  const name = nameAt.string();
  if (name === undefined) {
    if (!nameAt.present) nameAt.refuse('is missing: the object needs a name');
    return null;
  }
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) {
    nameAt.fail(`${JSON.stringify(name)} is not a Kubernetes name (lowercase letters, digits, "-" and ".")`);
    return null;
  }
  metadata.at('namespace').string();
  const labels = metadata.at('labels').stringMap();
  const annotations = metadata.at('annotations');
  const pocker = new Map<string, Cursor>();
  for (const key of Object.keys(annotations.stringMap())) if (splitAnnotationKey(key)) pocker.set(key, annotations.at(key));
  return { name, labels, pocker };
}

/** Reads a file's Kubernetes documents: every object's kind and metadata, problems for what pocker cannot take. */
export function readObjects(docs: readonly KubeDocument[], problems: KubeProblem[]): KubeObject[] {
  const out: KubeObject[] = [];
  for (const d of docs) {
    const root = new Cursor(d.value, d.doc, [], problems);
    const kind = root.at('kind').string();
    const apiVersion = root.at('apiVersion').string();
    if (kind === undefined || apiVersion === undefined) {
      if (!root.at('apiVersion').present) root.at('apiVersion').refuse('is missing');
      continue;
    }
    const known = (Object.keys(KINDS) as Kind[]).find((k) => k === kind);
    if (!known) {
      root
        .at('kind')
        .fail(
          `${kind} is not a kind pocker runs or reads: a spec file holds Pods, Deployments and Jobs, with the ConfigMaps, Secrets, PersistentVolumeClaims, Services and NetworkPolicies they use`,
        );
      continue;
    }
    if (apiVersion !== KINDS[known]) {
      root.at('apiVersion').fail(`${apiVersion} is not the apiVersion of a ${known} pocker reads (${KINDS[known]})`);
      continue;
    }
    const meta = readMeta(root.at('metadata'));
    if (!meta) continue;
    for (const [key, c] of meta.pocker) {
      const split = splitAnnotationKey(key)!;
      const objectKeys: string[] = [ANNOTATION.source, ...(known === 'PersistentVolumeClaim' ? [ANNOTATION.volume] : [])];
      if (known === 'Service') objectKeys.push(ANNOTATION.ports);
      if (known === 'NetworkPolicy') objectKeys.push(ANNOTATION.dnsEgress);
      const isWorkload = known === 'Pod' || known === 'Deployment' || known === 'Job';
      if (!isWorkload && (split.init !== undefined || !objectKeys.includes(split.name)))
        c.failRaw(
          `${c.field}: ${key} is not an annotation pocker reads on a ${known} (it reads ${objectKeys.map((k) => `${POCKER_DOMAIN}/${k}`).join(', ')})`,
          'key',
        );
    }
    out.push({ kind: known, root, meta, index: d.index });
  }
  return out;
}

/** The ConfigMaps, Secrets and PersistentVolumeClaims of the file, by name; two objects of one kind and name are an error. */
export function readResources(objects: readonly KubeObject[]): FileResources {
  const res: FileResources = { configMaps: new Map(), secrets: new Map(), claims: new Map() };
  const seen = new Map<string, KubeObject>();
  for (const o of objects) {
    const key = `${o.kind}/${o.meta.name}`;
    const prev = seen.get(key);
    if (prev) {
      o.root
        .at('metadata')
        .at('name')
        .fail(`${o.kind} ${o.meta.name} is already defined by document ${prev.index + 1} of this file`);
      continue;
    }
    seen.set(key, o);
    if (o.kind === 'ConfigMap') res.configMaps.set(o.meta.name, readConfigMap(o));
    else if (o.kind === 'Secret') res.secrets.set(o.meta.name, readSecret(o));
    else if (o.kind === 'PersistentVolumeClaim') res.claims.set(o.meta.name, readClaim(o));
  }
  return res;
}

function readConfigMap(o: KubeObject): ConfigMapData {
  o.root.keys({ apiVersion: true, kind: true, metadata: true, data: true, binaryData: true, immutable: true }, NOT_SUPPORTED);
  const data = o.root.at('data').stringMap();
  const binary = new Set(Object.keys(o.root.at('binaryData').map() ?? {}));
  return { root: o.root, data, binary };
}

/** A Secret may name its keys; a value in a spec file is refused (pocker reads secrets from its secrets dir, never from specs). */
function readSecret(o: KubeObject): Cursor {
  o.root.keys({ apiVersion: true, kind: true, metadata: true, data: true, stringData: true, type: true, immutable: true }, NOT_SUPPORTED);
  const type = o.root.at('type').string();
  if (type !== undefined && type !== 'Opaque')
    o.root.at('type').fail(`${type}: pocker reads Opaque secrets only (one file per key from its secrets dir)`);
  for (const field of ['data', 'stringData']) {
    const m = o.root.at(field).map();
    for (const key of Object.keys(m ?? {})) {
      o.root
        .at(field)
        .at(key)
        .failRaw(
          `${o.root.at(field).at(key).field}: Secret ${o.meta.name} holds a value for ${key}: pocker never takes secret values from spec files (they would lie in clear in the spec dir): put it into the secrets dir as <secrets-dir>/${key} (root's, mode 0400) and remove it here; the Pod's secret volume lists the keys it needs under items`,
          'key',
        );
    }
  }
  return o.root;
}

function readClaim(o: KubeObject): string {
  o.root.keys({ apiVersion: true, kind: true, metadata: true, spec: true, status: true }, NOT_SUPPORTED);
  const spec = o.root.at('spec');
  spec.keys(
    {
      accessModes: true,
      resources: true,
      storageClassName: true,
      volumeMode: true,
      dataSource: 'is not supported: a pocker volume starts empty',
      dataSourceRef: 'is not supported: a pocker volume starts empty',
      selector: 'is not supported: a pocker volume is a dir of the data dir',
      volumeName: 'is not supported: a pocker volume is a dir of the data dir',
      volumeAttributesClassName: 'is not supported: a pocker volume is a dir of the data dir',
    },
    NOT_SUPPORTED,
  );
  const mode = spec.at('volumeMode').string();
  if (mode !== undefined && mode !== 'Filesystem') spec.at('volumeMode').fail(`${mode}: a pocker volume is a directory (Filesystem)`);
  const volume = o.meta.pocker.get(`${POCKER_DOMAIN}/${ANNOTATION.volume}`)?.string();
  return volume ?? o.meta.name;
}
