/** Spec types: what users write, its normalized form, and the effective spec with defaults. */

/** Restart policy applied when the workload exits. */
export type RestartPolicy = 'always' | 'on-failure' | 'never';

/** Network modes: `none` (own namespace, loopback only), `host` (the host's namespace), `bridge` (CNI). */
export type NetworkMode = 'none' | 'host' | 'bridge';

/**
 * What a container should be doing: running; paused (frozen by the cgroup freezer, memory kept);
 * or stopped (its processes gone, its writable layer and log kept).
 */
export type RunState = 'running' | 'paused' | 'stopped';

/** A port published on the host (bridge mode, through CNI's portmap plugin). */
export interface PortMapping {
  host: number;
  container: number;
  protocol: 'tcp' | 'udp';
  /** Host address to publish on; absent = every address. */
  hostIP?: string;
}

/** The network a container asks for, defaults filled in. */
export interface NetworkSpec {
  mode: NetworkMode;
  /** bridge: name of the CNI network (conflist). */
  name: string;
  ports: PortMapping[];
  /** bridge: more names the other containers of the network resolve to this one. */
  aliases: string[];
  /** bridge: connections allowed in; any rule denies the others (enforced inside the container's network namespace). */
  ingress: FirewallRule[];
  /** bridge: connections allowed out; any rule denies the others. */
  egress: FirewallRule[];
}

/** One firewall rule: traffic from (ingress) or to (egress) a peer, on some ports of a protocol. */
export interface FirewallRule {
  /** A container name (followed to its current addresses) or an IPv4 CIDR in canonical form (10.0.0.5/32). */
  peer: { name: string } | { cidr: string };
  /** Port ranges, lowest first; empty = every port. */
  ports: Array<[number, number]>;
  /** null = any protocol (a rule without ports). */
  protocol: 'tcp' | 'udp' | 'icmp' | null;
}

/** A firewall rule as the user spec keeps it (canonical: ports as numbers or "lo-hi", CIDRs canonical). */
export interface UserFirewallRule {
  peer: string;
  ports?: Array<number | string>;
  protocol?: 'tcp' | 'udp' | 'icmp';
}

/** What a dependency must be before its dependent starts (compose's depends_on conditions). */
export type DependencyCondition = 'started' | 'healthy' | 'completed';

/** A container this one starts after, and whether it restarts when that one is recreated. */
export interface Dependency {
  name: string;
  condition: DependencyCondition;
  restartWith: boolean;
}

/** Default CNI network of bridge mode. */
export const DEFAULT_NETWORK_NAME = 'pocker';

/** A bind mount from the host into the container. */
export interface BindMount {
  /** Absolute host path. */
  source: string;
  /** Absolute path inside the container. */
  target: string;
  /** Mount read-only. */
  readOnly: boolean;
  /**
   * With a user namespace: mounted idmapped, so the container's root sees the host's root-owned
   * files as its own. False: the files show as the overflow id (nobody) and the container's ids
   * are host ids of its range, which only the files' "other" bits let in.
   */
  idmap: boolean;
}

/** Container ids each user namespace of `userns: auto` gets by default (0..65535, nobody included). */
export const DEFAULT_USERNS_SIZE = 65536;

/**
 * Which user namespace a container runs in: its own, with `size` host uids and gids of the
 * instance's pool (`auto`), or the host's (`host`; privileged containers always).
 */
export type UsernsSpec = { mode: 'auto'; size: number } | { mode: 'host' };

/** A named volume: `<data-dir>/volumes/NAME`, shared by the containers that name it, outliving them. */
export interface VolumeMount {
  name: string;
  /** Absolute path inside the container. */
  target: string;
  readOnly: boolean;
}

/** A tmpfs inside the container; the kernel enforces its size. */
export interface TmpfsMount {
  /** Absolute path inside the container. */
  target: string;
  sizeBytes: number;
  /** Mode of the mount's root (e.g. 0o1777). */
  mode: number;
}

/** What a changed file or secret does to its running container: `restart`, `none`, or `signal:SIGHUP` (canonical signal name). */
export type OnChange = 'restart' | 'none' | `signal:${string}`;

/**
 * A file put into the container, read-only, at target: inline content or a host file read at each
 * pass. Its content is known by its digest (filled in when a controller loads the spec; empty until then).
 */
export interface ContainerFile {
  /** Absolute path inside the container. */
  target: string;
  /** The host file as the spec writes it (absolute, or relative to the spec dir); absent for inline content. */
  source?: string;
  mode: number;
  uid: number;
  gid: number;
  onChange: OnChange;
  /** `sha256:HEX` of the content. */
  digest: string;
}

/**
 * A secret from the instance's secrets dir, mounted read-only from a tmpfs at target. Its value is
 * known only by a keyed digest (filled in when a controller loads the spec; empty until then).
 */
export interface ContainerSecret {
  name: string;
  target: string;
  mode: number;
  uid: number;
  gid: number;
  onChange: OnChange;
  /** `hmac-sha256:HEX` under the data dir's secret key: equal values compare equal, the value cannot be recovered. */
  digest: string;
}

/** Restart delays in milliseconds: initial, doubling up to max; a run of resetAfter starts over. */
export interface RestartBackoff {
  initialMs: number;
  maxMs: number;
  resetAfterMs: number;
}

/** An HTTP GET of 127.0.0.1:port inside the container's network namespace. */
export interface HttpProbe {
  port: number;
  path: string;
  /** The status that means healthy (default: any 2xx or 3xx). */
  expectStatus?: number;
}

/** A health check of a container; exactly one of exec (inside the container), http or tcp (from inside its network namespace). */
export interface HealthCheck {
  exec?: string[];
  http?: HttpProbe;
  tcp?: { port: number };
  intervalMs: number;
  timeoutMs: number;
  retries: number;
  startPeriodMs: number;
  onUnhealthy: 'restart' | 'none';
}

/** Throttle limits on one block device; an absent field is unlimited. */
export interface IoLimit {
  /** Block device path on the host (resolved to its major:minor when applied). */
  device: string;
  /** Read bytes per second. */
  readBps?: number;
  /** Write bytes per second. */
  writeBps?: number;
  /** Read operations per second. */
  readIops?: number;
  /** Write operations per second. */
  writeIops?: number;
}

/** Resource limits in canonical user units; an absent field means "no limit". */
export interface Resources {
  /** CPUs of CFS quota (0.5 = half a CPU). */
  cpus?: number;
  /** CPU list in canonical form ("0-1,3"). */
  cpuset?: string;
  /** Memory limit in bytes. */
  memory?: number;
  /** Memory+swap limit in bytes, or unlimited swap. Absent = equal to memory. */
  memsw?: number | 'unlimited';
  /** Process/thread limit. */
  pids?: number;
  /** Relative CPU weight under contention, in v1 shares (2..262144; the kernel's default is 1024). */
  cpuShares?: number;
  /** Block I/O throttles, one entry per device, sorted by device path. */
  io?: IoLimit[];
}

/**
 * Where the root filesystem comes from: layer directories (bottom first); an image of the image
 * store by reference (`ref`; `digest` is the manifest digest it resolved to when a controller
 * loaded the spec: it is hashed, so importing another image under the same reference recreates
 * the containers that use it); or a registry reference (`reference`, canonical, e.g.
 * `docker.io/library/nginx:1.27`): pulled when missing, and pinned to a digest per container, which
 * is not hashed (a tag that moves recreates nothing by itself).
 */
export type ImageSource = { layers: string[] } | { ref: string; digest?: string } | { reference: string };

/** When a registry image is pulled: when the store lacks it, or never (only what the store has). */
export type PullPolicy = 'missing' | 'never';

/** How a registry image moves by itself: its tag checked every interval, each new version watched for rollbackWindow. */
export interface AutoUpdatePolicy {
  intervalMs: number;
  rollbackWindowMs: number;
}

/** The registry image a container runs: its reference and the manifest digest it is pinned to. */
export interface ImagePin {
  reference: string;
  digest: string;
}

/**
 * The user's spec after normalization: exactly the fields the user wrote, in canonical units
 * (bytes, milliseconds, canonical CPU lists, sorted env). This is what the spec hash covers, so
 * defaults that pocker adds never change a hash.
 */
export interface UserSpec {
  name: string;
  hostname?: string;
  image: ImageSource;
  pull?: PullPolicy;
  autoUpdate?: { intervalMs?: number; rollbackWindowMs?: number };
  /** Kubernetes' command: replaces the image's Entrypoint (and its Cmd). */
  command?: string[];
  /** Kubernetes' args: replace the image's Cmd. */
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  resources?: Resources;
  state?: RunState;
  network?: {
    mode?: NetworkMode;
    name?: string;
    ports?: Array<Omit<PortMapping, 'protocol'> & { protocol?: PortMapping['protocol'] }>;
    aliases?: string[];
    ingress?: UserFirewallRule[];
    egress?: UserFirewallRule[];
  };
  mounts?: Array<{ source: string; target: string; readOnly?: boolean; idmap?: boolean }>;
  volumes?: Array<{ name: string; target: string; readOnly?: boolean }>;
  tmpfs?: Array<{ target: string; sizeBytes?: number; mode?: number }>;
  files?: Array<{ target: string; content?: string; source?: string; mode?: number; uid?: number; gid?: number; onChange?: OnChange }>;
  secrets?: Array<{ name: string; target?: string; mode?: number; uid?: number; gid?: number; onChange?: OnChange }>;
  restart?: RestartPolicy;
  stopGracePeriodMs?: number;
  /** Canonical signal name (SIGQUIT). */
  stopSignal?: string;
  restartBackoff?: Partial<RestartBackoff>;
  healthcheck?: Partial<HealthCheck>;
  dependsOn?: Array<{ name: string; condition?: DependencyCondition; restartWith?: boolean }>;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  user?: string;
  userns?: 'auto' | 'host' | { size: number };
  readOnlyRootfs?: boolean;
  tty?: boolean;
}

/** The spec pocker runs: the user spec with every default filled in. */
export interface ContainerSpec {
  name: string;
  hostname: string;
  /** Layer directories, bottom first (an image's are filled in when a controller loads the spec; empty until then). */
  layers: string[];
  /** The registry image and the digest it is pinned to (null for layers and imported refs, and until resolved). */
  image: ImagePin | null;
  /** Registry image updates the watching controller makes by itself, and how long it watches each (null: none). */
  autoUpdate: AutoUpdatePolicy | null;
  /** The workload's argv: the spec's command and args over the image's Entrypoint and Cmd (empty until an image's config is known). */
  command: string[];
  /** The image's Env with the spec's env over it. */
  env: Record<string, string>;
  workingDir: string;
  resources: Resources;
  /** running, paused (frozen in place) or stopped (no processes, writable layer kept). */
  state: RunState;
  network: NetworkSpec;
  mounts: BindMount[];
  volumes: VolumeMount[];
  tmpfs: TmpfsMount[];
  files: ContainerFile[];
  secrets: ContainerSecret[];
  restart: RestartPolicy;
  stopGracePeriodMs: number;
  /** The signal that asks the workload to stop (canonical name). */
  stopSignal: string;
  /** Only the fields the spec sets; the controller's defaults fill the rest. */
  restartBackoff: Partial<RestartBackoff>;
  healthcheck: HealthCheck | null;
  /** Containers of the same spec dir this one starts after. */
  dependsOn: Dependency[];
  /** No default protections (all capabilities, no seccomp, no masked paths, devices open). */
  privileged: boolean;
  /** Capability names (canonical, without CAP_) added to and dropped from the default set. */
  capabilities: { add: string[]; drop: string[] };
  /** "uid[:gid]" or "name[:group]" the workload runs as; null = root. */
  user: string | null;
  /** The user namespace a new (or recreated) container gets; a running one keeps the one it has (its record's range). */
  userns: UsernsSpec;
  readOnlyRootfs: boolean;
  /** The workload's stdin/stdout/stderr are a pty of the container's own devpts (its output is logged as stdout). */
  tty: boolean;
}

/** Where a spec came from: the spec dir as given (not symlink-resolved), file name, document index. */
export interface SpecSource {
  dir: string;
  file: string;
  doc: number;
}

/** A valid spec, ready for planning. */
export interface DesiredContainer {
  spec: ContainerSpec;
  user: UserSpec;
  /** Versioned hash of the normalized user spec. */
  hash: string;
  source: SpecSource;
  /** Where `image` (or `image.ref`) is written in the file (for errors of its resolution). */
  imageRefAt?: { line: number; col: number };
  /** A registry image the store does not have yet: the controller pulls it (or says why it cannot) before the container can start. */
  pendingImage?: PendingImage;
  /** The contents of its files and secrets, read by the controller's load (never serialized). */
  contents?: FileContents;
  /** Why a file source or a secret could not be read: nothing of the container is changed. */
  contentProblem?: string;
}

/**
 * The bytes of a container's files and secrets, by target. Kept out of every printed or stored
 * form: JSON and util.inspect show only how many there are.
 */
export class FileContents {
  readonly #byTarget = new Map<string, Buffer>();

  set(target: string, data: Buffer): void {
    this.#byTarget.set(target, data);
  }

  get(target: string): Buffer | undefined {
    return this.#byTarget.get(target);
  }

  toJSON(): string {
    return `[${this.#byTarget.size} contents withheld]`;
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `FileContents [${this.#byTarget.size} withheld]`;
  }
}

/** A problem in a spec file, located as precisely as the YAML allows. */
export interface SpecError {
  /** Path of the file as it was read (dir joined with the file name). */
  file: string;
  /** 1-based line and column. */
  line: number;
  col: number;
  message: string;
}

/** Formats a spec error as `file:line:col: message`. */
export function formatSpecError(e: SpecError): string {
  return `${e.file}:${e.line}:${e.col}: ${e.message}`;
}

/** A registry image a desired container waits for. */
export interface PendingImage {
  /** What to pull: the spec's reference, or reference@digest when a pinned digest left the store. */
  pull: string;
  policy: PullPolicy;
  /** Why the last pull failed, when it did. */
  error?: string;
}
