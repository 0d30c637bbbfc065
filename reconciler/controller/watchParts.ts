import type { CgroupDriver } from '../cgroups/driver.js';
import { describeError } from '../host/errors.js';
import type { Host } from '../host/host.js';
import { DEFAULT_REGISTRY_SETTINGS } from '../image/registrySettings.js';
import { registryClientFactory } from '../image/registryClients.js';
import type { Logger } from '../log/logger.js';
import { monitorBinary } from '../native.js';
import { ContainerWatches } from './containerWatches.js';
import { ImagePulls } from './imagePulls.js';
import type { WatchOptions } from './options.js';
import { ReloadScheduler } from './reloadScheduler.js';
import { RemovalGate } from './removalGate.js';
import { SpecReader } from './specReader.js';
import { SpecSources } from './specSources.js';
import { WorkQueue, type WorkResult } from './workQueue.js';

/** Delay of the reload that follows a burst of events (longer than chokidar's 50 ms change throttle). */
const TRAILING_RELOAD_MS = 75;

/** How long after a start or removal the /etc/hosts files are brought up to date again (a burst settles). */
const NAMES_SETTLE_MS = 50;

/** What the parts of the watching controller call back into it for. */
export interface WatchCallbacks {
  host: Host;
  driver: CgroupDriver;
  log: Logger;
  removalDelayMs: number;
  /** One container's work (the queue's worker). */
  reconcile: (name: string) => Promise<WorkResult>;
  /** A container exited, or its health changed. */
  changed: (name: string) => void;
  /** The spec dir (or the image store) changed: read it again. */
  reload: () => void;
  /** What is held back changed: record the source status. */
  recordStatus: () => void;
  /** The dir has been quiet for the removal delay: decide the removals. */
  decideRemovals: () => void;
  /** Bring the /etc/hosts of the bridge containers up to date. */
  refreshNames: () => void;
  /** A part failed outside a container's work. */
  failed: (what: string, e: unknown) => void;
}

/** The named parts of the watching controller, wired to it. */
export interface WatchParts {
  queue: WorkQueue;
  watches: ContainerWatches;
  gate: RemovalGate;
  reloads: ReloadScheduler;
  names: ReloadScheduler;
  pulls: ImagePulls;
  reader: SpecReader;
  sources: SpecSources;
}

/** Makes the parts of one watching controller (the work queue's idle check counts pending reloads, decisions and pulls). */
export function watchParts(opts: WatchOptions, c: WatchCallbacks): WatchParts {
  const parts: Partial<WatchParts> = {};
  parts.queue = new WorkQueue(
    (name) => c.reconcile(name),
    (name, e) => c.log.error({ container: name, error: describeError(e) }, `reconciling ${name}: ${describeError(e)}`),
    () => parts.reloads!.pending || parts.gate!.pending || parts.pulls!.busy,
  );
  parts.watches = ContainerWatches.create({
    host: c.host,
    dirs: opts.dirs,
    driver: c.driver,
    monitorBinary: opts.monitorBinary ?? monitorBinary(),
    log: c.log,
    healthChecks: opts.healthChecks !== false,
    ...(opts.events && { events: opts.events }),
    onChange: c.changed,
  });
  parts.gate = new RemovalGate({
    dir: opts.dir,
    rules: { allowEmpty: !!opts.allowEmpty, ...(opts.maxDeletions !== undefined && { maxDeletions: opts.maxDeletions }) },
    delayMs: c.removalDelayMs,
    log: c.log,
    onHeldChange: c.recordStatus,
    onQuiet: c.decideRemovals,
  });
  parts.reloads = new ReloadScheduler(c.reload, TRAILING_RELOAD_MS);
  parts.names = new ReloadScheduler(c.refreshNames, NAMES_SETTLE_MS);
  parts.pulls = new ImagePulls({
    host: c.host,
    dirs: opts.dirs,
    client: opts.registry ?? registryClientFactory(opts.registries),
    concurrency: (opts.registries ?? DEFAULT_REGISTRY_SETTINGS).concurrency,
    log: c.log,
    onPulled: () => parts.reloads!.request(),
  });
  parts.reader = new SpecReader({
    dir: opts.dir,
    host: c.host,
    dataDir: opts.dirs.dataDir,
    log: c.log,
    ...(opts.trust && { trust: opts.trust }),
    ...(opts.secretsDir && { secretsDir: opts.secretsDir }),
  });
  parts.sources = new SpecSources({
    dir: opts.dir,
    dataDir: opts.dirs.dataDir,
    ...(opts.secretsDir && { secretsDir: opts.secretsDir }),
    log: c.log,
    onChange: () => parts.reloads!.request(),
    onError: c.failed,
  });
  return parts as WatchParts;
}
