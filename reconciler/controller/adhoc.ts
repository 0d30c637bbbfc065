import { join } from 'node:path';
import { observeContainer } from '../observe/observe.js';
import { observedStatus, type ActualContainer } from '../observe/types.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { specLimits } from '../plan/plan.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { checkHost, removeContainer, startContainer, stopContainer, type RuntimeContext } from '../runtime/container.js';
import { RuntimeError } from '../host/errors.js';
import type { Host, ProcessRef } from '../host/host.js';
import type { Attach } from '../runtime/monitorConfig.js';
import type { NetworkOptions } from '../network/conflist.js';
import type { DirLoad } from '../spec/load.js';
import type { DesiredContainer } from '../spec/types.js';
import { silentLogger } from '../log/logger.js';
import { buildPass } from './pass.js';
import { refreshHosts } from '../network/names.js';
import { describeSource, isAdhoc } from '../state/adhoc.js';
import { locksDir, type InstanceDirs } from '../state/layout.js';
import type { ContainerRecord, ExitRecord } from '../state/records.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../host/timeouts.js';
import { describeError } from '../host/errors.js';
import type { EventSink, EventType } from '../state/events.js';
import { reportExit } from './events.js';

/** What the ad-hoc commands (`pocker run`, `stop`, `start`, `rm`) act with. */
export interface AdhocContext {
  host: Host;
  driver: CgroupDriver;
  dirs: InstanceDirs;
  monitorBinary: string;
  network?: NetworkOptions;
  timeouts?: Timeouts;
  /** Where what the command did is told (the events journal). */
  events?: EventSink;
  /** The pool of `userns: auto` (default "pocker"). */
  usernsPool?: string;
}

/** The runtime context of one ad-hoc command, made where every pass's is (buildPass). */
function runtime(c: AdhocContext, starting?: DesiredContainer, attach?: Attach): RuntimeContext {
  const load: DirLoad = { dir: '', status: 'ok', files: [], desired: starting ? [starting] : [], errors: [], failedFiles: new Set() };
  return buildPass({
    source: '',
    load,
    host: c.host,
    driver: c.driver,
    dirs: c.dirs,
    backoff: DEFAULT_BACKOFF,
    timeouts: c.timeouts ?? DEFAULT_TIMEOUTS,
    monitorBinary: c.monitorBinary,
    allowEmpty: false,
    log: silentLogger,
    ...(c.network && { network: c.network }),
    ...(attach && { attach }),
    ...(c.usernsPool && { usernsPool: c.usernsPool }),
  }).ctx;
}

/**
 * Runs fn with the container's lock held and its state observed from the kernel; afterwards the
 * bridge containers' /etc/hosts follow what it started, stopped or removed.
 */
async function underLock<T>(c: AdhocContext, name: string, fn: (a: ActualContainer | null) => Promise<T>): Promise<T> {
  const release = await c.host.lock(join(locksDir(c.dirs), name), (c.timeouts ?? DEFAULT_TIMEOUTS).lockMs);
  try {
    const a = observeContainer(c.host, c.dirs, c.driver, name);
    if (a && c.events) reportExit(c.host, c.dirs, a, c.events);
    return await fn(a);
  } finally {
    release();
    try {
      refreshHosts(c.host, c.dirs);
    } catch {
      /* the next pass brings them up to date */
    }
  }
}

/** An ad-hoc container as the commands that manage it need it; declarative ones are refused. */
function adhocOnly(a: ActualContainer | null, name: string, verb: string): ActualContainer & { record: ContainerRecord } {
  if (!a) throw new RuntimeError('NOT_FOUND', `no container "${name}" (see pocker ps)`, { container: name });
  if (!a.record)
    throw new RuntimeError('NO_RECORD', `container "${name}" has no readable record (${a.recordProblem ?? 'missing'})`, {
      container: name,
    });
  if (!isAdhoc(a.record.source)) {
    const hint = verb === 'rm' ? 'remove its spec file' : `set "state: ${verb === 'stop' ? 'stopped' : 'running'}" in its spec`;
    throw new RuntimeError(
      'DECLARATIVE',
      `container "${name}" is declared in ${describeSource(a.record.source)}: ${hint} instead (pocker ${verb} manages only containers of pocker run)`,
      { container: name },
    );
  }
  return a as ActualContainer & { record: ContainerRecord };
}

/** Runs one ad-hoc step and tells the events sink what it did (type, reason) or that it failed. */
async function told<T>(c: AdhocContext, name: string, type: EventType, reason: string, step: () => Promise<T>): Promise<T> {
  try {
    const r = await step();
    c.events?.emit({ type, name, source: '', reason });
    return r;
  } catch (e) {
    c.events?.emit({
      type: 'apply-failed',
      name,
      source: '',
      action: type,
      reason,
      error: describeError(e),
      code: (e as { code?: string }).code,
    });
    throw e;
  }
}

/** Where a started container's processes are. */
export interface Started {
  init: ProcessRef;
  monitor: ProcessRef;
}

function startedRefs(c: AdhocContext, name: string): Started {
  const a = observeContainer(c.host, c.dirs, c.driver, name);
  if (!a?.pids) throw new RuntimeError('CONTAINER_START', `container "${name}" started but its pids are not recorded`, { container: name });
  return {
    init: { pid: a.pids.initPid, startTime: a.pids.initStart },
    monitor: { pid: a.pids.monitorPid, startTime: a.pids.monitorStart },
  };
}

/** Starts a container through the runtime's start code: fresh, or again on restartOf's writable layer. */
async function start(
  c: AdhocContext,
  desired: DesiredContainer,
  attach?: Attach,
  again?: ActualContainer & { record: ContainerRecord },
): Promise<void> {
  const ctx = runtime(c, desired, attach);
  checkHost(ctx, desired, !!again);
  c.driver.ensureParent(c.host);
  await startContainer(
    ctx,
    desired,
    specLimits(desired, ctx.facts),
    again ? { keepLayer: true, restartOf: again.record, lastExit: again.exit } : {},
  );
}

/**
 * Creates and starts an ad-hoc container (`pocker run`) through the same start code as a spec's;
 * a name already in use, by any container, is refused. On failure nothing is left behind.
 */
export async function runAdhoc(c: AdhocContext, desired: DesiredContainer, attach?: Attach): Promise<Started> {
  const name = desired.spec.name;
  return underLock(c, name, async (a) => {
    if (a) {
      const owner = a.record ? describeSource(a.record.source) : 'an unreadable record';
      throw new RuntimeError('EXISTS', `a container named "${name}" already exists (${owner}); pick another --name or pocker rm it`, {
        container: name,
      });
    }
    await told(c, name, 'create', 'pocker run', () => start(c, desired, attach));
    return startedRefs(c, name);
  });
}

/** Waits until the container's monitor has exited (the exit is recorded then) and returns the exit. */
export async function waitForExit(c: AdhocContext, name: string, started: Started): Promise<ExitRecord | null> {
  while (!(await c.host.waitForExit(started.monitor, 3_600_000)));
  return observeContainer(c.host, c.dirs, c.driver, name)?.exit ?? null;
}

/** The exit status `pocker run` ends with: the workload's code, 128+N when the init was killed by signal N. */
export function exitStatusOf(exit: ExitRecord | null): number {
  if (!exit) return 125;
  if (exit.exitCode >= 0) return exit.exitCode;
  return 128 + exit.signal;
}

/** Stops an ad-hoc container, keeping its writable layer (`pocker stop`). False when it was not running. */
export async function stopAdhoc(c: AdhocContext, name: string): Promise<boolean> {
  return underLock(c, name, async (found) => {
    const a = adhocOnly(found, name, 'stop');
    if (observedStatus(a) !== 'running') return false;
    await told(c, name, 'stop', 'pocker stop', () => stopContainer(runtime(c), a));
    return true;
  });
}

/** Starts a stopped or exited ad-hoc container again on its writable layer (`pocker start`). False when it was running. */
export async function startAdhoc(c: AdhocContext, name: string): Promise<boolean> {
  return underLock(c, name, async (found) => {
    const a = adhocOnly(found, name, 'start');
    if (observedStatus(a) === 'running') return false;
    const rec = a.record;
    await told(c, name, 'restart', 'pocker start', () =>
      start(c, { spec: rec.spec, user: rec.user, hash: rec.hash, source: rec.source }, undefined, a),
    );
    return true;
  });
}

/** Removes an ad-hoc container and everything it owns (`pocker rm`); a running one only with force. */
export async function removeAdhoc(c: AdhocContext, name: string, force: boolean): Promise<void> {
  await underLock(c, name, async (found) => {
    const a = adhocOnly(found, name, 'rm');
    if (observedStatus(a) === 'running' && !force)
      throw new RuntimeError('RUNNING', `container "${name}" is running: pocker stop it first, or pocker rm -f`, { container: name });
    await told(c, name, 'removed', 'pocker rm', () => removeContainer(runtime(c), a));
  });
}
