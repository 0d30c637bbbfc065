import type { CgroupDriver } from '../cgroups/driver.js';
import type { Host } from '../host/host.js';
import type { Timeouts } from '../host/timeouts.js';
import type { Logger } from '../log/logger.js';
import type { NetworkOptions } from '../network/conflist.js';
import type { LogPolicy } from '../runtime/monitorConfig.js';
import type { Trust } from '../spec/load.js';
import type { RestartBackoff } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import type { RegistryClient } from '../image/registry/client.js';
import type { RegistrySettings } from '../image/registrySettings.js';
import type { EventSink } from '../state/events.js';
import type { HookRunner } from '../host/hookRunner.js';
import type { MetricsAddress } from './metricsAddress.js';
import type { NotifyOptions } from './notifier.js';

/** What `reconcile --once` and the watching controller are both given. */
export interface ControllerOptions {
  /** Spec dir as given by the user (the ownership key). */
  dir: string;
  dirs: InstanceDirs;
  /** The entry of /etc/subuid and /etc/subgid the user namespaces of `userns: auto` come from (default "pocker"). */
  usernsPool?: string;
  /** Remove containers even when the dir has no spec files. */
  allowEmpty?: boolean;
  /** Refuse every removal of a decision that would remove more than this many containers. */
  maxDeletions?: number;
  /** Restart backoff where a spec sets none. */
  backoff?: RestartBackoff;
  /** Container log rotation (default 10 MiB x 5). */
  logPolicy?: LogPolicy;
  /** CNI dirs and default network (bridge mode). */
  network?: NetworkOptions;
  /** Injected for tests (a counting or fake host); defaults to the real one. */
  host?: Host;
  driver?: CgroupDriver;
  log?: Logger;
  monitorBinary?: string;
  /** Owners whose spec files are trusted (default: not checked; the CLI passes root and --trusted-owner). */
  trust?: Trust;
  /** Where secrets are read from (default /etc/pocker/secrets). */
  secretsDir?: string;
  /** Longest waits for CNI plugins, monitors and locks (default DEFAULT_TIMEOUTS). */
  timeouts?: Timeouts;
  /** How registry images are pulled (default: DEFAULT_REGISTRY_SETTINGS). */
  registries?: RegistrySettings;
  /** The registry client (default: one made from `registries` and the standard credential files). */
  registry?: () => RegistryClient;
  /** Where events go: the journal, hooks, metrics (default: nowhere). */
  events?: EventSink;
}

/** Options of the watching controller. */
export interface WatchOptions extends ControllerOptions {
  /** Resync period (catches anything events missed). Default 30 s. */
  resyncMs?: number;
  /** Every how many resyncs one reads every container in full (the others only what notifications marked). Default 10. */
  fullResyncEvery?: number;
  /** Quiet period after the last change of the dir before removals are decided. Default 500 ms. */
  removalDelayMs?: number;
  /** Run health checks (default true). */
  healthChecks?: boolean;
  /** The hook run for events (`--notify-exec`). */
  notify?: NotifyOptions;
  /** Runs the hook (default: a real process). */
  hookRunner?: HookRunner;
  /** Where `/metrics` and the status page are served (default: nowhere). */
  metricsAddress?: MetricsAddress;
}

/** What one resync did: containers observed, how many were handed to their workers, how long it took. */
export interface ResyncStats {
  containers: number;
  kicked: number;
  durationMs: number;
  /** This resync read every container in full. */
  full: boolean;
  /** Containers read from their records and the kernel (the rest kept their last observation). */
  read: number;
}

/** Counts of what the controller did, by action kind (tests and benchmarks read them). */
export type ActionCounts = Record<'create' | 'update' | 'recreate' | 'restart' | 'stop' | 'remove', number>;
