/** What `pocker convert` takes in and gives back: a compose file in, pocker specs and what they do not carry out. */
import type { ComposeFiles } from './files.js';

/** The environment variables interpolation and bare `environment` entries read (the process's, in the CLI). */
export type Environment = Readonly<Record<string, string | undefined>>;

/** One conversion: the compose file's text and where it is (its dir is the project dir), the environment, and how to read the files it names. */
export interface ConvertInput {
  /** Absolute path of the compose file: relative paths in it (env_file, binds, configs) and `.env` are taken from its dir. */
  composePath: string;
  text: string;
  env: Environment;
  files: ComposeFiles;
}

/**
 * Something of the compose file the specs do not carry, or carry differently: printed as
 * `SERVICE: FIELD: why`, and what makes `--strict` fail. `service` is `(top-level)` for the
 * file's own keys and its networks, volumes, configs and secrets.
 */
export interface Finding {
  service: string;
  field: string;
  message: string;
}

/**
 * Something the operator must do or know for the specs to run as the compose file did (a secret's
 * value to put into the secrets dir, a CNI conflist); not a loss. Printed as `note: SERVICE: FIELD:
 * what` once the specs are written; never a secret's value.
 */
export type Note = Finding;

/** A named volume of a spec (`<data-dir>/volumes/NAME`). */
export interface SpecVolume {
  name: string;
  target: string;
  readOnly?: boolean;
}

/** A bind mount of a spec. */
export interface SpecMount {
  source: string;
  target: string;
  readOnly?: boolean;
}

/** A tmpfs of a spec. */
export interface SpecTmpfs {
  target: string;
  size?: string | number;
  mode?: string;
}

/** A file put into the container (read-only): inline content or a host file read at each pass. */
export interface SpecFile {
  target: string;
  content?: string;
  source?: string;
  mode?: string;
  uid?: number;
  gid?: number;
}

/** A secret of the instance's secrets dir (`<secrets-dir>/NAME`), mounted read-only at target (default /run/secrets/NAME). */
export interface SpecSecret {
  name: string;
  target?: string;
  mode?: string;
  uid?: number;
  gid?: number;
}

/** A published port. */
export interface SpecPort {
  host: number;
  container: number;
  protocol?: 'tcp' | 'udp';
  hostIP?: string;
}

/** A dependency on another container of the spec dir. */
export interface SpecDependency {
  name: string;
  condition?: 'started' | 'healthy' | 'completed';
  restartWith?: boolean;
}

/** A health check (convert only makes exec checks: compose's are commands). */
export interface SpecHealthcheck {
  exec: string[];
  interval?: string;
  timeout?: string;
  retries?: number;
  startPeriod?: string;
  onUnhealthy: 'none';
}

/** Limits of a spec. */
export interface SpecResources {
  cpus?: number;
  cpuset?: string;
  memory?: string | number;
  memsw?: string | number;
  pids?: number;
  cpuShares?: number;
  io?: Array<{ device: string; readBps?: string | number; writeBps?: string | number; readIops?: number; writeIops?: number }>;
}

/** The network section of a spec. */
export interface SpecNetwork {
  mode: 'none' | 'host' | 'bridge';
  name?: string;
  ports?: SpecPort[];
  aliases?: string[];
}

/** A pocker spec document in the schema's names (schema/container.v1.schema.json), as convert writes it. */
export interface SpecDocument {
  apiVersion: 'pocker/v1';
  name: string;
  hostname?: string;
  image: string;
  pull?: 'never';
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  resources?: SpecResources;
  network?: SpecNetwork;
  mounts?: SpecMount[];
  volumes?: SpecVolume[];
  tmpfs?: SpecTmpfs[];
  files?: SpecFile[];
  secrets?: SpecSecret[];
  restart: 'always' | 'on-failure' | 'never';
  stopGracePeriod?: string;
  stopSignal?: string;
  dependsOn?: SpecDependency[];
  healthcheck?: SpecHealthcheck;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  readOnlyRootfs?: boolean;
  tty?: boolean;
}

/** One spec made from one compose service. */
export interface ConvertedSpec {
  /** The compose service it comes from. */
  service: string;
  /** File name it is written to: `<service>.yaml`. */
  file: string;
  spec: SpecDocument;
}

/** The outcome of a conversion that could read the compose file. */
export interface ConvertResult {
  /** The compose project name (network and volume names are prefixed with it). */
  project: string;
  specs: ConvertedSpec[];
  findings: Finding[];
  notes: Note[];
}
