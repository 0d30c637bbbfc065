/**
 * Which fields of Kubernetes objects pocker takes, and why it refuses the others: every key not
 * accepted here is an error at its place (`spec.affinity is not supported on a single host`),
 * never silently ignored.
 */
import type { KeyRules } from './cursor.js';

/** The reason of a field that no mapping of pocker's covers. */
export const NOT_SUPPORTED = 'is not supported by pocker';

const SCHEDULING = 'is not supported on a single host: there is no scheduling';

/** Object metadata: a name, labels and annotations; the rest is a cluster's bookkeeping. */
export const METADATA: KeyRules = {
  name: true,
  namespace: true,
  labels: true,
  annotations: true,
  creationTimestamp: true,
  generateName: 'is not supported: pocker needs the name (it is the container name)',
  uid: "is a cluster's bookkeeping: remove it",
  resourceVersion: "is a cluster's bookkeeping: remove it",
  generation: "is a cluster's bookkeeping: remove it",
  managedFields: "is a cluster's bookkeeping: remove it",
  selfLink: "is a cluster's bookkeeping: remove it",
  ownerReferences: 'is not supported: pocker has no owners of objects (delete the spec file to remove the container)',
  finalizers: 'is not supported: pocker has no finalizers',
  deletionTimestamp: "is a cluster's bookkeeping: remove it",
  deletionGracePeriodSeconds: "is a cluster's bookkeeping: remove it",
};

/** A PodSpec. */
export const POD_SPEC: KeyRules = {
  containers: true,
  initContainers: true,
  volumes: true,
  restartPolicy: true,
  terminationGracePeriodSeconds: true,
  hostname: true,
  hostNetwork: true,
  hostUsers: true,
  securityContext: true,
  dnsPolicy: true,
  automountServiceAccountToken: true,
  enableServiceLinks: true,
  hostPID: true,
  hostIPC: true,
  shareProcessNamespace: true,
  affinity: 'is not supported on a single host',
  nodeSelector: SCHEDULING,
  nodeName: SCHEDULING,
  tolerations: SCHEDULING,
  topologySpreadConstraints: SCHEDULING,
  schedulerName: SCHEDULING,
  schedulingGates: SCHEDULING,
  priorityClassName: SCHEDULING,
  priority: SCHEDULING,
  preemptionPolicy: SCHEDULING,
  overhead: SCHEDULING,
  runtimeClassName: 'is not supported: pocker is the one runtime',
  os: 'is not supported: pocker runs Linux containers only',
  resourceClaims: 'is not supported: pocker has no dynamic resource allocation',
  resources: 'is not supported: give the limits on the container (spec.containers[0].resources)',
  serviceAccountName: 'is not supported: pocker has no service accounts (no API token is mounted)',
  serviceAccount: 'is not supported: pocker has no service accounts (no API token is mounted)',
  imagePullSecrets: 'is not supported: pocker reads registry credentials from /etc/pocker/auth.json (see the README, Images)',
  dnsConfig: "is not supported: a pocker container gets the host's resolv.conf",
  hostAliases: 'is not supported: pocker writes /etc/hosts from the names of the containers on the network',
  activeDeadlineSeconds: 'is not supported: pocker does not stop a container at a deadline',
  ephemeralContainers: 'is not supported: use pocker exec',
  readinessGates: 'is not supported: pocker has no readiness conditions',
  subdomain: 'is not supported: pocker has no cluster DNS (give the hostname)',
  setHostnameAsFQDN: 'is not supported: pocker has no cluster DNS (give the hostname)',
};

/** A container (and an init container). */
export const CONTAINER: KeyRules = {
  name: true,
  image: true,
  imagePullPolicy: true,
  command: true,
  args: true,
  env: true,
  envFrom: true,
  workingDir: true,
  resources: true,
  ports: true,
  volumeMounts: true,
  livenessProbe: true,
  readinessProbe: true,
  startupProbe: true,
  securityContext: true,
  tty: true,
  stdin: true,
  stdinOnce: true,
  terminationMessagePath: true,
  terminationMessagePolicy: true,
  lifecycle: 'is not supported: pocker runs no postStart or preStop hooks (stopSignal and stopGracePeriod say how it stops)',
  volumeDevices: 'is not supported: pocker passes no block devices into a container',
  resizePolicy: 'is not supported: pocker changes limits in place anyway',
  restartPolicy: 'is not supported: pocker has no sidecar containers (restartPolicy of a container)',
};

/** A container's securityContext. */
export const SECURITY_CONTEXT: KeyRules = {
  privileged: true,
  capabilities: true,
  runAsUser: true,
  runAsGroup: true,
  runAsNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: true,
  seccompProfile: true,
  procMount: 'is not supported: pocker masks /proc as Docker does (the default procMount)',
  seLinuxOptions: 'is not supported: pocker applies no SELinux labels',
  appArmorProfile: 'is not supported: pocker applies no AppArmor profiles',
  windowsOptions: 'is not supported: pocker runs Linux containers only',
};

/** A Pod's securityContext (what applies to every container). */
export const POD_SECURITY_CONTEXT: KeyRules = {
  runAsUser: true,
  runAsGroup: true,
  runAsNonRoot: true,
  seccompProfile: true,
  fsGroup: 'is not supported: pocker does not change the owner of volumes',
  fsGroupChangePolicy: 'is not supported: pocker does not change the owner of volumes',
  supplementalGroups: 'is not supported: pocker sets the groups of the user (runAsUser/runAsGroup) only',
  supplementalGroupsPolicy: 'is not supported: pocker sets the groups of the user (runAsUser/runAsGroup) only',
  sysctls: 'is not supported: pocker sets no sysctls',
  seLinuxOptions: 'is not supported: pocker applies no SELinux labels',
  seLinuxChangePolicy: 'is not supported: pocker applies no SELinux labels',
  appArmorProfile: 'is not supported: pocker applies no AppArmor profiles',
  windowsOptions: 'is not supported: pocker runs Linux containers only',
};

/** A probe. */
export const PROBE: KeyRules = {
  exec: true,
  httpGet: true,
  tcpSocket: true,
  initialDelaySeconds: true,
  periodSeconds: true,
  timeoutSeconds: true,
  failureThreshold: true,
  successThreshold: true,
  grpc: 'is not supported: pocker checks with exec, http or tcp',
  terminationGracePeriodSeconds:
    "is not supported: pocker stops an unhealthy container with its stopGracePeriod (the Pod's terminationGracePeriodSeconds)",
};

/** A volume of a Pod: the sources pocker maps. */
export const VOLUME: KeyRules = {
  name: true,
  hostPath: true,
  persistentVolumeClaim: true,
  emptyDir: true,
  configMap: true,
  secret: true,
  projected: 'is not supported: use configMap and secret volumes',
  downwardAPI: 'is not supported: pocker has no downward API',
  ephemeral: 'is not supported: use a persistentVolumeClaim (a named volume)',
  image: 'is not supported: pocker mounts no image volumes',
};

/** A container's volumeMount. */
export const VOLUME_MOUNT: KeyRules = {
  name: true,
  mountPath: true,
  readOnly: true,
  subPath: true,
  mountPropagation: true,
  recursiveReadOnly: true,
  subPathExpr: 'is not supported: pocker expands no variables in mount paths',
};

/** A container port. */
export const CONTAINER_PORT: KeyRules = { containerPort: true, hostPort: true, hostIP: true, protocol: true, name: true };

/** A Deployment's spec. */
export const DEPLOYMENT_SPEC: KeyRules = {
  replicas: true,
  selector: true,
  template: true,
  strategy: true,
  revisionHistoryLimit: true,
  progressDeadlineSeconds: true,
  minReadySeconds: 'is not supported: pocker has no rollouts',
  paused: 'is not supported: use state: stopped (the pocker.io/state annotation)',
};

/** A Job's spec. */
export const JOB_SPEC: KeyRules = {
  template: true,
  backoffLimit: true,
  completions: true,
  parallelism: true,
  activeDeadlineSeconds: 'is not supported: pocker does not stop a container at a deadline',
  ttlSecondsAfterFinished: 'is not supported: pocker keeps a completed job until its spec is removed',
  suspend: 'is not supported: use state: stopped (the pocker.io/state annotation)',
  podFailurePolicy: 'is not supported: pocker retries as restart says (never or on-failure)',
  podReplacementPolicy: 'is not supported: pocker runs one container',
  successPolicy: 'is not supported: pocker runs one container',
  completionMode: 'is not supported: pocker runs one container',
  backoffLimitPerIndex: 'is not supported: pocker runs one container',
  maxFailedIndexes: 'is not supported: pocker runs one container',
  managedBy: 'is not supported: pocker runs the Job itself',
  manualSelector: 'is not supported: pocker selects nothing',
  selector: 'is not supported: pocker selects nothing',
};

/** A Service's spec. */
export const SERVICE_SPEC: KeyRules = {
  type: true,
  selector: true,
  ports: true,
  clusterIP: 'is not supported: pocker publishes on the host (ports of the selected Pod)',
  clusterIPs: 'is not supported: pocker publishes on the host (ports of the selected Pod)',
  externalIPs: 'is not supported: pocker publishes on the host (ports of the selected Pod)',
  loadBalancerIP: 'is not supported: pocker publishes on the host (ports of the selected Pod)',
  externalName: 'is not supported: pocker publishes on the host (ports of the selected Pod)',
};

/** A Service's port. */
export const SERVICE_PORT: KeyRules = { name: true, port: true, targetPort: true, protocol: true, nodePort: true };

const NO_NAMESPACES = 'is not supported: pocker has no namespaces (name the container by a podSelector, or give an ipBlock)';

/** A NetworkPolicy's spec. */
export const NETWORK_POLICY_SPEC: KeyRules = { podSelector: true, policyTypes: true, ingress: true, egress: true };

/** An ingress entry of a NetworkPolicy. */
export const NETWORK_POLICY_INGRESS: KeyRules = { from: true, ports: true };

/** An egress entry of a NetworkPolicy. */
export const NETWORK_POLICY_EGRESS: KeyRules = { to: true, ports: true };

/** A peer of a NetworkPolicy's entry. */
export const NETWORK_POLICY_PEER: KeyRules = { podSelector: true, ipBlock: true, namespaceSelector: NO_NAMESPACES };

/** A label selector of a NetworkPolicy (its Pod, or a peer). */
export const LABEL_SELECTOR: KeyRules = {
  matchLabels: true,
  matchExpressions: 'is not supported: select by matchLabels (the app.kubernetes.io/name label of the container)',
};

/** An ipBlock peer. */
export const IP_BLOCK: KeyRules = {
  cidr: true,
  except: 'is not supported: a pocker rule allows a whole address or CIDR (give the blocks it allows as rules of their own)',
};

/** A port of a NetworkPolicy's entry. */
export const NETWORK_POLICY_PORT: KeyRules = { protocol: true, port: true, endPort: true };
