import type { Timeouts } from '../host/timeouts.js';
import type { Logger } from '../log/logger.js';
import type { NetworkOptions } from '../network/conflist.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import type { RuntimeContext } from '../runtime/container.js';
import { gatherFacts, type HostFacts } from '../runtime/facts.js';
import type { Host } from '../host/host.js';
import type { Attach, LogPolicy } from '../runtime/monitorConfig.js';
import type { DirLoad } from '../spec/load.js';
import type { RestartBackoff } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import type { PassState } from './reconcileOne.js';
import type { ControllerOptions } from './options.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { DEFAULT_TIMEOUTS } from '../host/timeouts.js';
import { monitorBinary } from '../native.js';
import type { EventSink } from '../state/events.js';

/** Everything a pass over one spec dir (or one ad-hoc command) acts with. */
export interface PassOptions {
  /** The spec dir as given: the owner key ("" for ad-hoc containers). */
  source: string;
  load: DirLoad;
  host: Host;
  driver: CgroupDriver;
  dirs: InstanceDirs;
  backoff: RestartBackoff;
  timeouts: Timeouts;
  monitorBinary: string;
  allowEmpty: boolean;
  log: Logger;
  /** Git commit of the spec dir, recorded on the containers the pass changes. */
  revision?: string | null;
  /** Host facts already gathered (default: gathered now for the desired set). */
  facts?: HostFacts;
  /** Whether a removal may happen now (default: yes). */
  mayRemove?: (name: string) => boolean;
  /** Registry images move to the digest the load resolved (`pocker image update`). */
  movePins?: boolean;
  /** Observe each started container in full under its lock (the watching controller keeps that observation). */
  observeAfterStart?: boolean;
  /** Makes sure the cgroup parent exists (default: once in this pass). */
  ensureParent?: () => void;
  logPolicy?: LogPolicy;
  network?: NetworkOptions;
  attach?: Attach;
  /** Where what the pass does is told (default: nowhere). */
  events?: EventSink;
  /** The pool of `userns: auto` (default "pocker"). */
  usernsPool?: string;
}

/**
 * The one place a pass's runtime context is put together, for `reconcile --once`, the watching
 * controller, `restart` and the ad-hoc commands alike.
 */
export function buildPass(o: PassOptions): PassState {
  const ctx: RuntimeContext = {
    host: o.host,
    driver: o.driver,
    dirs: o.dirs,
    facts: o.facts ?? gatherFacts(o.host, o.driver, o.load.desired),
    monitorBinary: o.monitorBinary,
    backoff: o.backoff,
    timeouts: o.timeouts,
    warn: (container, message) => o.log.warn({ container }, `${container}: ${message}`),
    ...(o.logPolicy && { logPolicy: o.logPolicy }),
    ...(o.network && { network: o.network }),
    ...(o.attach && { attach: o.attach }),
    ...(o.revision && { revision: o.revision }),
    ...(o.usernsPool && { usernsPool: o.usernsPool }),
  };
  let parentReady = false;
  return {
    source: o.source,
    load: o.load,
    ctx,
    allowEmpty: o.allowEmpty,
    backoff: o.backoff,
    log: o.log,
    ...(o.mayRemove && { mayRemove: o.mayRemove }),
    ...(o.movePins && { movePins: true }),
    ...(o.observeAfterStart && { observeAfterStart: true }),
    ...(o.events && { events: o.events }),
    ensureParent:
      o.ensureParent ??
      (() => {
        if (!parentReady) o.driver.ensureParent(o.host);
        parentReady = true;
      }),
  };
}

/** What a controller pass adds to its options: the set it loaded and how it acts now. */
export interface ControllerPassParts {
  load: DirLoad;
  host: Host;
  driver: CgroupDriver;
  log: Logger;
  revision: string | null;
  mayRemove: (name: string) => boolean;
  facts?: HostFacts;
  ensureParent?: () => void;
  observeAfterStart?: boolean;
}

/** The pass of `reconcile --once` or of the watching controller, with the controller options' defaults. */
export function controllerPass(o: ControllerOptions, parts: ControllerPassParts): PassState {
  return buildPass({
    source: o.dir,
    dirs: o.dirs,
    backoff: o.backoff ?? DEFAULT_BACKOFF,
    timeouts: o.timeouts ?? DEFAULT_TIMEOUTS,
    monitorBinary: o.monitorBinary ?? monitorBinary(),
    allowEmpty: !!o.allowEmpty,
    ...parts,
    ...(o.logPolicy && { logPolicy: o.logPolicy }),
    ...(o.network && { network: o.network }),
    ...(o.events && { events: o.events }),
    ...(o.usernsPool && { usernsPool: o.usernsPool }),
  });
}
