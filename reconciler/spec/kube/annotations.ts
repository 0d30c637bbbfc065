/**
 * The names pocker and Kubernetes share in exported objects: labels, and the `pocker.io/`
 * annotations that carry what a Pod has no field for (written by `pocker export kube`, read back
 * when a spec file holds Kubernetes objects).
 */

/** The domain of pocker's annotation keys. */
export const POCKER_DOMAIN = 'pocker.io';

/** The label every exported object carries (`app.kubernetes.io/managed-by: pocker`). */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';

/** The label naming the container of a workload; Deployments and Services select on it. */
export const NAME_LABEL = 'app.kubernetes.io/name';

/**
 * What each annotation carries, by its key under `pocker.io/` (values are strings; JSON where a
 * field is structured). Every key is read back on import; an unknown `pocker.io/` key is an error.
 */
export const ANNOTATION = {
  /** The spec file an object was exported from (informative; no effect on import). */
  source: 'source',
  /** The spec's registry reference when `image` is pinned to the digest pocker runs (`REF@sha256:…`). */
  image: 'image',
  /** `image.layers`: a JSON array of layer directories. */
  layers: 'layers',
  /** `image.ref`: an image of pocker's store (NAME:TAG). */
  imageRef: 'image-ref',
  /** `resources.pids`. */
  pids: 'pids',
  /** `resources.cpuset`. */
  cpuset: 'cpuset',
  /** `resources.memsw`: a quantity or `unlimited`. */
  memsw: 'memsw',
  /** `resources.io`: a JSON array of throttles. */
  io: 'io',
  /** `resources.cpuShares`. */
  cpuShares: 'cpu-shares',
  /** `state`: paused or stopped. */
  state: 'state',
  /** `network.mode`: `none` (no network section), `bridge`, or `host` (init containers). */
  network: 'network',
  /** `network.name`: the CNI network. */
  networkName: 'network-name',
  /** `network.aliases`: comma-separated. */
  aliases: 'aliases',
  /** `network.ports` exactly, on a Service: a JSON array (host ports, address, protocol as written). */
  ports: 'ports',
  /** `hostname`, when it is no DNS label (or for an init container). */
  hostname: 'hostname',
  /** `user`, when it is not numeric (runAsUser/runAsGroup are). */
  user: 'user',
  /** `stopSignal`. */
  stopSignal: 'stop-signal',
  /** `stopGracePeriod`, when not whole seconds (or for an init container). */
  stopGracePeriod: 'stop-grace-period',
  /** `restartBackoff`: JSON. */
  restartBackoff: 'restart-backoff',
  /** `restart` of an init container, when the Pod's restartPolicy does not give it. */
  restart: 'restart',
  /** `healthcheck` durations that are not whole seconds, and `http.expectStatus`: JSON. */
  healthcheck: 'healthcheck',
  /** `dependsOn` exactly, when the init containers do not give it: a JSON array. */
  dependsOn: 'depends-on',
  /** Per file target: `uid`, `gid`, `onChange`, `source`: JSON. */
  files: 'files',
  /** Per secret target: `uid`, `gid`, `onChange`: JSON. */
  secrets: 'secrets',
  /** Per tmpfs target: `mode`: JSON. */
  tmpfs: 'tmpfs',
  /** On a PersistentVolumeClaim: the pocker volume name, when it is no Kubernetes name. */
  volume: 'volume',
  /** On a NetworkPolicy: `added` when the export added the egress entry allowing DNS (dropped on import). */
  dnsEgress: 'dns-egress',
} as const;

/** An annotation's short name (the part after `pocker.io/`). */
export type AnnotationKey = (typeof ANNOTATION)[keyof typeof ANNOTATION];

/** The keys a workload's annotations may give for its Pod's container (init containers add `restart`). */
export const CONTAINER_KEYS: ReadonlySet<string> = new Set<string>([
  ANNOTATION.image,
  ANNOTATION.layers,
  ANNOTATION.imageRef,
  ANNOTATION.pids,
  ANNOTATION.cpuset,
  ANNOTATION.memsw,
  ANNOTATION.io,
  ANNOTATION.cpuShares,
  ANNOTATION.state,
  ANNOTATION.network,
  ANNOTATION.networkName,
  ANNOTATION.aliases,
  ANNOTATION.hostname,
  ANNOTATION.user,
  ANNOTATION.stopSignal,
  ANNOTATION.stopGracePeriod,
  ANNOTATION.restartBackoff,
  ANNOTATION.healthcheck,
  ANNOTATION.dependsOn,
  ANNOTATION.files,
  ANNOTATION.secrets,
  ANNOTATION.tmpfs,
]);

/**
 * The annotation key of a container's field: `pocker.io/KEY` for the Pod's container,
 * `INIT.pocker.io/KEY` for its init container INIT (Kubernetes' own per-container annotations put
 * the container's name in the key the same way).
 */
export function annotationKey(key: AnnotationKey, init?: string): string {
  return `${init !== undefined ? `${init}.` : ''}${POCKER_DOMAIN}/${key}`;
}

/** A `pocker.io/` annotation key split into the init container it names (if any) and its short name; null for other keys. */
export function splitAnnotationKey(key: string): { init?: string; name: string } | null {
  const slash = key.indexOf('/');
  if (slash < 0) return null;
  const prefix = key.slice(0, slash);
  const name = key.slice(slash + 1);
  if (prefix === POCKER_DOMAIN) return { name };
  if (prefix.endsWith(`.${POCKER_DOMAIN}`)) return { init: prefix.slice(0, -POCKER_DOMAIN.length - 1), name };
  return null;
}

/**
 * The egress entry `pocker export kube` adds to a NetworkPolicy (pocker's egress rules always let
 * DNS reach the container's name servers; a NetworkPolicy implies no DNS): UDP and TCP port 53 to
 * any destination, marked by `pocker.io/dns-egress: added` so the import drops it again.
 */
export const DNS_EGRESS = {
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
} as const;

/** Kubernetes' largest int32: a Job's backoffLimit that never gives up (pocker's on-failure). */
export const MAX_INT32 = 2 ** 31 - 1;
