/**
 * A workload (Pod, Deployment with one replica, Job) as pocker containers: the Pod's one
 * container, named as the workload, and each init container as a job of its own name that the
 * next one and the container depend on (`condition: completed`), as Kubernetes runs them one
 * after the other. Pod-level fields (restartPolicy, hostname, hostNetwork, the grace period)
 * apply to the container; init containers take the Pod's restart policy and network mode
 * unless their own annotations say otherwise.
 */
import { isContainerName } from '../names.js';
import { ANNOTATION, CONTAINER_KEYS, MAX_INT32, POCKER_DOMAIN, splitAnnotationKey } from './annotations.js';
import type { SpecBuilder } from './builder.js';
import { importContainer } from './container.js';
import { ContainerAnnotations, type PodContext } from './context.js';
import type { Cursor } from './cursor.js';
import type { FileResources, KubeObject } from './documents.js';
import { DEPLOYMENT_SPEC, JOB_SPEC, METADATA, NOT_SUPPORTED, POD_SECURITY_CONTEXT, POD_SPEC } from './rules.js';
import { checkSeccomp } from './security.js';
import { readPodVolumes } from './volumes.js';

/** Kubernetes' grace period when a Pod sets none. */
const KUBE_GRACE_SECONDS = 30;
/** pocker's (stopGracePeriod's default). */
const POCKER_GRACE_SECONDS = 10;

type Restart = 'always' | 'on-failure' | 'never';

/** A workload's pod template, its container name and the restart policies its kind allows. */
export interface Workload {
  object: KubeObject;
  name: string;
  pod: Cursor;
  /** The labels its Pods carry (what Services select). */
  podLabels: Record<string, string>;
  /** The restart of its container, from the template's restartPolicy (undefined: pocker's default, always). */
  restart?: Restart;
  restartAt?: Cursor;
}

/** The containers of one workload. */
export interface ImportedPod {
  workload: Workload;
  main: SpecBuilder;
  inits: SpecBuilder[];
  /** The container's port names (for Services' named targetPorts). */
  portNames: Map<string, number>;
}

const RESTART: Record<string, Restart> = { Always: 'always', OnFailure: 'on-failure', Never: 'never' };

/** The pod template of a Deployment or Job: labels, and its spec. */
function template(spec: Cursor, kind: string): { pod: Cursor; labels: Record<string, string> } {
  const t = spec.at('template');
  t.keys({ metadata: true, spec: true }, NOT_SUPPORTED);
  const meta = t.at('metadata');
  meta.keys({ ...METADATA, name: 'is not supported: the container is named after the ' + kind }, NOT_SUPPORTED);
  const annotations = meta.at('annotations').stringMap();
  for (const key of Object.keys(annotations))
    if (splitAnnotationKey(key)) meta.at('annotations').at(key).refuse(`is read on the ${kind}'s own metadata: move it there`, 'key');
  if (!t.at('spec').present) t.refuse('needs a spec');
  return { pod: t.at('spec'), labels: meta.at('labels').stringMap() };
}

/** A Pod, Deployment or Job as a workload; null (with problems) when pocker cannot run it. */
export function readWorkload(o: KubeObject): Workload | null {
  const root = o.root;
  root.keys({ apiVersion: true, kind: true, metadata: true, spec: true, status: true }, NOT_SUPPORTED);
  const name = o.meta.name;
  if (!isContainerName(name)) {
    root
      .at('metadata')
      .at('name')
      .fail(`${JSON.stringify(name)} is not a DNS label, which pocker's container names are (lowercase letters, digits, "-"; at most 63)`);
    return null;
  }
  const spec = root.at('spec');
  if (!spec.map()) {
    if (!spec.present) spec.refuse('is missing');
    return null;
  }
  if (o.kind === 'Pod') {
    const policy = spec.at('restartPolicy');
    const r = policy.string();
    if (r !== undefined && !Object.hasOwn(RESTART, r)) {
      policy.fail(`${r} is not a restart policy (Always, OnFailure, Never)`);
      return null;
    }
    return { object: o, name, pod: spec, podLabels: o.meta.labels, ...(r !== undefined && { restart: RESTART[r], restartAt: policy }) };
  }
  if (o.kind === 'Deployment') {
    spec.keys(DEPLOYMENT_SPEC, NOT_SUPPORTED);
    const replicas = spec.at('replicas').int();
    if (replicas !== undefined && replicas !== 1)
      spec.at('replicas').fail(`${replicas}: pocker runs one container of a Deployment (replicas: 1)`);
    const strategy = spec.at('strategy');
    strategy.keys({ type: true, rollingUpdate: true }, NOT_SUPPORTED);
    const { pod, labels } = template(spec, 'Deployment');
    const selector = spec.at('selector');
    selector.keys({ matchLabels: true, matchExpressions: 'is not supported: select the template by matchLabels' }, NOT_SUPPORTED);
    for (const [k, v] of Object.entries(selector.at('matchLabels').stringMap()))
      if (labels[k] !== v) selector.at('matchLabels').at(k).fail("does not match the template's labels (Kubernetes refuses it too)");
    const policy = pod.at('restartPolicy');
    const r = policy.string();
    if (r !== undefined && r !== 'Always') policy.fail(`${r}: a Deployment's Pods restart Always (Kubernetes refuses it too)`);
    return { object: o, name, pod, podLabels: labels, ...(r === 'Always' && { restart: 'always' as const, restartAt: policy }) };
  }
  spec.keys(JOB_SPEC, NOT_SUPPORTED);
  for (const k of ['completions', 'parallelism']) {
    const n = spec.at(k).int();
    if (n !== undefined && n !== 1) spec.at(k).fail(`${n}: pocker runs a Job's container once (1)`);
  }
  const { pod, labels } = template(spec, 'Job');
  const policy = pod.at('restartPolicy');
  const r = policy.string();
  if (r !== 'Never' && r !== 'OnFailure') {
    (policy.present ? policy : pod).refuse('must be Never or OnFailure for a Job (Kubernetes refuses it too)');
    return null;
  }
  const limit = spec.at('backoffLimit');
  const want = r === 'Never' ? 0 : MAX_INT32;
  const n = limit.int();
  if (n !== want)
    (limit.present ? limit : spec).refuse(
      r === 'Never'
        ? `must be 0 with restartPolicy Never: pocker runs a job with restart: never once, and Kubernetes' default (6) would run it again`
        : `must be ${MAX_INT32} with restartPolicy OnFailure: pocker retries a job with restart: on-failure until it succeeds, and Kubernetes' default (6) gives up`,
    );
  return { object: o, name, pod, podLabels: labels, restart: RESTART[r], restartAt: policy };
}

/** Refuses a true value of a field pocker cannot give (hostPID and the like). */
function refuseTrue(pod: Cursor, key: string, why: string): void {
  if (pod.at(key).bool() === true) pod.at(key).refuse(`true is not supported: ${why}`);
}

/** Checks the workload's `pocker.io/` annotations: each names a field of its container or of one of its init containers. */
function checkAnnotations(w: Workload, inits: readonly string[]): void {
  for (const [key, at] of w.object.meta.pocker) {
    const split = splitAnnotationKey(key)!;
    if (split.init === undefined) {
      if (split.name === ANNOTATION.source || CONTAINER_KEYS.has(split.name)) continue;
      at.refuse(
        split.name === ANNOTATION.restart
          ? `is for init containers (INIT.${POCKER_DOMAIN}/restart): the container's restart is the restartPolicy`
          : `is not an annotation pocker reads (known: ${[...CONTAINER_KEYS].map((k) => `${POCKER_DOMAIN}/${k}`).join(', ')})`,
        'key',
      );
    } else if (!inits.includes(split.init)) at.refuse(`names ${split.init}, which is no init container of this Pod`, 'key');
    else if (split.name === ANNOTATION.healthcheck) at.refuse('is not supported: an init container has no health check', 'key');
    else if (split.name !== ANNOTATION.restart && !CONTAINER_KEYS.has(split.name)) at.refuse('is not an annotation pocker reads', 'key');
  }
}

/** Where a string annotation sets a field, it wins; returns whether it did. */
function fromAnnotation(
  b: SpecBuilder,
  ann: ContainerAnnotations,
  key: (typeof ANNOTATION)[keyof typeof ANNOTATION],
  field: string,
): boolean {
  const at = ann.get(key);
  const v = at?.string();
  if (!at || v === undefined) return false;
  b.set([field], v, at.place);
  return true;
}

/** The network mode an annotation says (none, bridge; host only for init containers), or undefined. */
function annotatedMode(ann: ContainerAnnotations, allowHost: boolean): { mode: 'none' | 'host' | 'bridge'; at: Cursor } | undefined {
  const at = ann.get(ANNOTATION.network);
  const v = at?.string();
  if (!at || v === undefined) return undefined;
  if (v === 'none' || v === 'bridge' || (allowHost && v === 'host')) return { mode: v, at };
  at.fail(
    `${JSON.stringify(v)} is not a network mode here (${allowHost ? 'none, host, bridge' : 'none or bridge; host is spec.hostNetwork: true'})`,
  );
  return undefined;
}

/** The name and aliases annotations of a network. */
function networkExtras(b: SpecBuilder, ann: ContainerAnnotations): void {
  const name = ann.get(ANNOTATION.networkName);
  const n = name?.string();
  if (name && n !== undefined) b.network.name = { value: n, from: name.place };
  const aliases = ann.get(ANNOTATION.aliases);
  const a = aliases?.string();
  if (aliases && a !== undefined) b.network.aliases = { value: a.split(',').filter(Boolean), from: aliases.place };
}

/** The dependsOn annotation (exactly the list), else `derived`. */
function dependencies(b: SpecBuilder, ann: ContainerAnnotations, derived: readonly string[], from: Cursor): void {
  const exact = ann.json(ANNOTATION.dependsOn);
  if (exact) {
    if (!Array.isArray(exact.value) || exact.value.length) b.set(['dependsOn'], exact.value, exact.at.place);
  } else if (derived.length)
    b.set(
      ['dependsOn'],
      derived.map((name) => ({ name, condition: 'completed' })),
      from.place,
    );
}

/** The containers of a workload; null (with problems) when its Pod cannot run on pocker. */
export function importPod(w: Workload, res: FileResources): ImportedPod | null {
  const pod = w.pod;
  pod.keys(POD_SPEC, NOT_SUPPORTED);
  const security = pod.at('securityContext');
  security.keys(POD_SECURITY_CONTEXT, NOT_SUPPORTED);
  checkSeccomp(security.at('seccompProfile'));
  refuseTrue(pod, 'hostPID', 'a pocker container has its own PID namespace');
  refuseTrue(pod, 'hostIPC', 'a pocker container has its own IPC namespace');
  refuseTrue(pod, 'shareProcessNamespace', 'pocker runs one container per Pod');
  refuseTrue(pod, 'automountServiceAccountToken', 'pocker has no service accounts (no API token is mounted)');
  pod.at('enableServiceLinks').bool();
  const dns = pod.at('dnsPolicy').string();
  if (dns === 'None') pod.at('dnsPolicy').refuse("None is not supported: a pocker container gets the host's resolv.conf");
  const containers = pod.at('containers').list();
  if (!containers.length) {
    pod.at('containers').refuse('needs one container');
    return null;
  }
  if (containers.length > 1) {
    containers[1]!.fail(
      'a Pod with several containers is not supported yet: pocker runs one container per Pod (give each container its own Pod)',
    );
    return null;
  }
  const initAt = pod.at('initContainers').list();
  const initNames: string[] = [];
  for (const c of initAt) {
    const n = c.at('name').string();
    if (n === undefined || !isContainerName(n)) {
      c.at('name').refuse(n === undefined ? 'is missing' : `${JSON.stringify(n)} is not a DNS label (the name of its pocker container)`);
      return null;
    }
    if (n === w.name || initNames.includes(n)) {
      c.at('name').refuse(`${n} is already a container of this Pod`);
      return null;
    }
    initNames.push(n);
  }
  checkAnnotations(w, initNames);
  const hostNetwork = pod.at('hostNetwork').bool() === true;
  const ctx: PodContext = {
    resources: res,
    security,
    hostNetwork,
    ...readPodVolumes(pod, [{ name: w.name, at: containers[0]! }, ...initAt.map((at, i) => ({ name: initNames[i]!, at }))]),
  };
  const annMain = new ContainerAnnotations(w.object.meta.pocker);
  const main = importContainer(containers[0]!, w.name, 'main', ctx, annMain, w.object.index);
  if (w.restart && w.restartAt) main.set(['restart'], w.restart, w.restartAt.place);
  const hostname = pod.at('hostname').string();
  const hostnameAnn = annMain.get(ANNOTATION.hostname);
  if (hostname !== undefined && hostnameAnn) hostnameAnn.refuse('and spec.hostname both give the hostname: keep one');
  else if (hostname !== undefined) main.set(['hostname'], hostname, pod.at('hostname').place);
  else fromAnnotation(main, annMain, ANNOTATION.hostname, 'hostname');
  if (!fromAnnotation(main, annMain, ANNOTATION.stopGracePeriod, 'stopGracePeriod')) {
    const grace = pod.at('terminationGracePeriodSeconds');
    const s = grace.int() ?? KUBE_GRACE_SECONDS;
    if (s !== POCKER_GRACE_SECONDS) main.set(['stopGracePeriod'], `${s}s`, grace.present ? grace.place : pod.place);
  }
  const mainMode = annotatedMode(annMain, false);
  if (hostNetwork && mainMode) mainMode.at.refuse('conflicts with spec.hostNetwork: true');
  main.network.mode = hostNetwork ? 'host' : (mainMode?.mode ?? 'bridge');
  main.network.modeFrom = hostNetwork ? pod.at('hostNetwork').place : (mainMode?.at.place ?? main.home);
  networkExtras(main, annMain);
  dependencies(main, annMain, initNames, pod.at('initContainers'));
  // Kubernetes' default is the host's user namespace, pocker's a range of the container's own:
  // hostUsers: true keeps the host's; false and absent take pocker's default.
  const hostUsers = pod.at('hostUsers');
  if (hostUsers.bool() === true) main.set(['userns'], 'host', hostUsers.place);

  const podPolicy = w.restart ?? 'always';
  const inits = initAt.map((c, i) => {
    const name = initNames[i]!;
    const ann = new ContainerAnnotations(w.object.meta.pocker, name);
    const b = importContainer(c, name, 'init', ctx, ann, w.object.index);
    if (!fromAnnotation(b, ann, ANNOTATION.restart, 'restart')) b.set(['restart'], podPolicy === 'never' ? 'never' : 'on-failure', c.place);
    const mode = annotatedMode(ann, true);
    b.network.mode = mode?.mode ?? main.network.mode;
    b.network.modeFrom = mode?.at.place ?? c.place;
    networkExtras(b, ann);
    b.finishNetwork();
    fromAnnotation(b, ann, ANNOTATION.hostname, 'hostname');
    fromAnnotation(b, ann, ANNOTATION.stopGracePeriod, 'stopGracePeriod');
    dependencies(b, ann, i > 0 ? [initNames[i - 1]!] : [], c);
    if (hostUsers.bool() === true) b.set(['userns'], 'host', hostUsers.place);
    return b;
  });
  const portNames = new Map<string, number>();
  for (const p of containers[0]!.at('ports').list()) {
    const n = p.at('name').value;
    const port = p.at('containerPort').value;
    if (typeof n === 'string' && typeof port === 'number') portNames.set(n, port);
  }
  return { workload: w, main, inits, portNames };
}
