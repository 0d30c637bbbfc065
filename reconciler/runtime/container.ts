import { join } from 'node:path';
import { desiredLimits, type Limits } from '../plan/limits.js';
import { DEFAULT_BACKOFF, effectiveBackoff } from '../plan/backoff.js';
import type { ActualContainer } from '../observe/types.js';
import type { DesiredContainer, RestartBackoff } from '../spec/types.js';
import { containerPaths, locksDir, type ContainerPaths, type InstanceDirs } from '../state/layout.js';
import { RECORD_VERSION, type ContainerRecord } from '../state/records.js';
import type { CgroupDriver } from './cgroups/driver.js';
import { RuntimeError, describeError } from './errors.js';
import type { HostFacts } from './facts.js';
import type { Host, ProcessRef } from './host.js';
import { hostProblems, ioProblems, type LookupCache } from './hostChecks.js';
import { faultPoint } from './faults.js';
import { attachNetwork, detachNetwork } from '../network/attach.js';
import { DEFAULT_NETWORK_OPTIONS, type NetworkOptions } from '../network/conflist.js';
import { DEFAULT_LOG_POLICY, monitorConfig, type Attach, type LogPolicy } from './monitorConfig.js';
import { DEVICE_ALLOW_RULES } from './security/policy.js';

/** Everything the runtime needs to change containers on this host. */
export interface RuntimeContext {
  host: Host;
  driver: CgroupDriver;
  dirs: InstanceDirs;
  facts: HostFacts;
  monitorBinary: string;
  logPolicy?: LogPolicy;
  /** Layer lookups of this pass's host checks. */
  lookups?: LookupCache;
  /** Git commit of the spec dir this pass applies, recorded on the containers it changes. */
  revision?: string;
  /** Restart backoff where a spec sets none. */
  backoff?: RestartBackoff;
  /** CNI config and plugin dirs, default network (bridge mode). */
  network?: NetworkOptions;
  /** The user attached to the containers this context starts (`pocker run`). */
  attach?: Attach;
}

/** How long to wait for a SIGKILLed init, and for a monitor to record the exit. */
const KILL_WAIT_MS = 10_000;
const MONITOR_WAIT_MS = 5_000;

const SIGTERM = 15;
const SIGKILL = 9;

/** Removes a container's data dir, detaching anything mounted inside it first (never deletes through a mount). */
export function removeDataDir(host: Host, paths: ContainerPaths): void {
  if (host.lkind(paths.dataDir) === null) return;
  for (const m of host.mountsUnder(paths.dataDir)) {
    faultPoint('unmount');
    host.unmount(m);
  }
  host.removeTree(paths.dataDir);
}

function writeRecord(ctx: RuntimeContext, paths: ContainerPaths, record: ContainerRecord): void {
  try {
    faultPoint('write-record', record.name);
    ctx.host.writeFileAtomic(paths.record, `${JSON.stringify(record)}\n`, 0o600);
  } catch (e) {
    throw new RuntimeError('STATE', `write ${paths.record}: ${describeError(e)}`, { container: record.name, path: paths.record, cause: e });
  }
}

function newRecord(ctx: RuntimeContext, d: DesiredContainer, phase: ContainerRecord['phase'], base?: ContainerRecord | null): ContainerRecord {
  return {
    version: RECORD_VERSION,
    name: d.spec.name,
    source: d.source,
    hash: d.hash,
    user: d.user,
    spec: d.spec,
    phase,
    createdAtMs: base?.createdAtMs ?? Date.now(),
    restartCount: base?.restartCount ?? 0,
    backoffStep: base?.backoffStep ?? 0,
    backoff: effectiveBackoff(d.spec, ctx.backoff ?? DEFAULT_BACKOFF),
    cgroupParent: ctx.driver.parent,
    ...(ctx.revision ? { revision: ctx.revision } : base?.revision ? { revision: base.revision } : {}),
  };
}

/** Throws HOST_CHECK when the host cannot run this spec; nothing has been changed at that point. */
export function checkHost(ctx: RuntimeContext, d: DesiredContainer): void {
  checkIo(ctx, d);
  const problems = hostProblems(d.spec, ctx.facts, ctx.host, (ctx.lookups ??= new Map()));
  if (problems.length) throw new RuntimeError('HOST_CHECK', problems.join('; '), { container: d.spec.name });
}

/** Throws HOST_CHECK, with the device path, when the spec's io throttles cannot be applied here. */
export function checkIo(ctx: RuntimeContext, d: DesiredContainer): void {
  const problems = ioProblems(d.spec, ctx.facts);
  if (problems.length) throw new RuntimeError('HOST_CHECK', problems.map((p) => p.message).join('; '), { container: d.spec.name, path: problems[0]!.device });
}

/** The limits a spec asks for on this host. */
export function limitsFor(ctx: RuntimeContext, d: DesiredContainer): Limits {
  return desiredLimits(d.spec.resources, ctx.facts, d.spec.state === 'paused');
}

/**
 * Starts a container: record (creating) -> cgroups with limits -> writable layer dirs -> monitor
 * (which creates the init and reports) -> record (created). `restartOf` keeps the writable layer
 * and counts a restart; otherwise the container starts fresh. On failure everything this call
 * made is undone (a fresh container leaves nothing behind).
 */
export async function startContainer(ctx: RuntimeContext, d: DesiredContainer, restartOf?: ContainerRecord, backoffStep = 0): Promise<{ initPid: number; monitorPid: number }> {
  const { host, driver } = ctx;
  const name = d.spec.name;
  const paths = containerPaths(ctx.dirs, name);
  const fresh = !restartOf;
  try {
    host.mkdir(paths.stateDir, 0o700);
    if (fresh) {
      writeRecord(ctx, paths, newRecord(ctx, d, 'creating'));
      faultPoint('create:record', name);
      host.removeFile(paths.pids);
      host.removeFile(paths.exit);
      removeDataDir(ctx.host, paths);
    }
    await driver.remove(name, host);
    // A paused spec is frozen only once its init has reported: a frozen cgroup would stop the init mid-setup.
    const limits = limitsFor(ctx, d);
    driver.create(name, { ...limits, frozen: false }, host, d.spec.privileged ? null : DEVICE_ALLOW_RULES);
    faultPoint('create:cgroup', name);
    const net = d.spec.network.mode === 'bridge' ? await attachNetwork(ctx.dirs, d.spec, ctx.network ?? DEFAULT_NETWORK_OPTIONS, host.readFile('/etc/resolv.conf')) : undefined;
    faultPoint('create:network', name);
    const config = monitorConfig(d.spec, paths, driver.placement(name), (src) => host.kind(src) === 'dir', ctx.logPolicy ?? DEFAULT_LOG_POLICY, net, ctx.attach);
    // Let every other container of this pass create its cgroups before monitors start: cgroup
    // mkdirs then never wait behind the monitors' cgroup migrations (which hold cgroup_mutex).
    await new Promise((r) => setImmediate(r));
    const starting = host.startMonitor(ctx.monitorBinary, config, paths.stateDir, join(locksDir(ctx.dirs), name), ctx.attach?.stdio);
    faultPoint('create:spawned', name);
    const started = await starting;
    if (!started.ok) throw new RuntimeError('CONTAINER_START', started.message, { container: name });
    faultPoint('create:started', name);
    const record = newRecord(ctx, d, 'created', restartOf);
    if (restartOf) record.restartCount = restartOf.restartCount + 1;
    record.backoffStep = backoffStep;
    host.removeFile(paths.health);
    writeRecord(ctx, paths, record);
    faultPoint('create:recorded', name);
    if (limits.frozen) driver.update(name, limits, { ...limits, frozen: false }, host);
    return { initPid: started.initPid, monitorPid: started.monitorPid };
  } catch (e) {
    await undoStart(ctx, name, paths, fresh);
    throw e instanceof RuntimeError ? e : new RuntimeError('CONTAINER_START', describeError(e), { container: name, cause: e });
  }
}

async function undoStart(ctx: RuntimeContext, name: string, paths: ContainerPaths, fresh: boolean): Promise<void> {
  const pids = ctx.host.readFile(paths.pids);
  if (pids) {
    try {
      const p = JSON.parse(pids) as { initPid: number; initStart: number };
      ctx.host.signal({ pid: p.initPid, startTime: p.initStart }, SIGKILL);
    } catch {
      /* the cgroup removal below kills whatever is left */
    }
  }
  try {
    await ctx.driver.remove(name, ctx.host);
  } catch {
    /* reported by the original error; the next pass retries the cleanup */
  }
  if (fresh) {
    try {
      await detachNetwork(ctx.dirs, name);
    } catch {
      /* reported by the original error; the record stays for the next pass to finish the DEL */
      return;
    }
    removeDataDir(ctx.host, paths);
    ctx.host.removeTree(paths.stateDir);
  }
}

/** SIGTERM, wait the grace period, SIGKILL; then wait for the monitor to record the exit. */
export async function stopContainer(ctx: RuntimeContext, a: ActualContainer, graceMs: number): Promise<void> {
  if (!a.pids) return;
  // A frozen workload cannot handle SIGTERM: thaw it first.
  if (a.limits?.frozen) ctx.driver.update(a.name, { ...a.limits, frozen: false }, a.limits, ctx.host);
  const init: ProcessRef = { pid: a.pids.initPid, startTime: a.pids.initStart };
  const monitor: ProcessRef = { pid: a.pids.monitorPid, startTime: a.pids.monitorStart };
  if (ctx.host.signal(init, SIGTERM)) {
    if (!(await ctx.host.waitForExit(init, graceMs))) {
      ctx.host.signal(init, SIGKILL);
      if (!(await ctx.host.waitForExit(init, KILL_WAIT_MS))) {
        throw new RuntimeError('STOP', `init ${init.pid} did not exit ${KILL_WAIT_MS} ms after SIGKILL`, { container: a.name });
      }
    }
  }
  await ctx.host.waitForExit(monitor, MONITOR_WAIT_MS);
}

/**
 * Stops a container on purpose (`state: stopped`, `pocker stop`) and records that, so no restart
 * policy brings it back; its writable layer, log, cgroups and network stay for the next start.
 */
export async function stopKeepingLayer(ctx: RuntimeContext, a: ActualContainer): Promise<void> {
  const rec = a.record;
  if (!rec) throw new RuntimeError('STATE', `container "${a.name}" has no readable record`, { container: a.name });
  await stopContainer(ctx, a, rec.spec.stopGracePeriodMs);
  writeRecord(ctx, containerPaths(ctx.dirs, a.name), { ...rec, phase: 'created', stoppedAtMs: Date.now() });
}

/** Keeps a copy of an unreadable record (`<state-dir>/.quarantine/`) before its container goes. */
function quarantineRecord(ctx: RuntimeContext, a: ActualContainer, paths: ContainerPaths): void {
  const text = ctx.host.readFile(paths.record);
  if (text === null) return;
  const dir = join(ctx.dirs.stateDir, '.quarantine');
  ctx.host.mkdir(dir, 0o700);
  ctx.host.writeFileAtomic(join(dir, `${a.name}-${Date.now()}.json`), text, 0o600);
}

/** Stops a container and deletes everything it owned: cgroups, writable layer, log, state. */
export async function removeContainer(ctx: RuntimeContext, a: ActualContainer): Promise<void> {
  const paths = containerPaths(ctx.dirs, a.name);
  if (!a.record && a.recordProblem) quarantineRecord(ctx, a, paths);
  await stopContainer(ctx, a, a.record?.spec.stopGracePeriodMs ?? 10_000);
  faultPoint('remove:stopped', a.name);
  await ctx.driver.remove(a.name, ctx.host);
  faultPoint('remove:cgroup', a.name);
  await detachNetwork(ctx.dirs, a.name);
  faultPoint('remove:network', a.name);
  removeDataDir(ctx.host, paths);
  faultPoint('remove:data', a.name);
  ctx.host.removeTree(paths.stateDir);
}

/** Applies new limits to the live cgroups and records the spec; the process is untouched. */
export function updateContainer(ctx: RuntimeContext, d: DesiredContainer, a: ActualContainer, limits: Limits, changed: readonly string[]): void {
  checkIo(ctx, d);
  if (changed.length && a.limits) ctx.driver.update(d.spec.name, limits, a.limits, ctx.host);
  faultPoint('update:cgroup', d.spec.name);
  const rec = a.record;
  if (!rec || rec.hash !== d.hash || rec.phase !== 'created' || JSON.stringify(rec.source) !== JSON.stringify(d.source)) {
    writeRecord(ctx, containerPaths(ctx.dirs, d.spec.name), newRecord(ctx, d, 'created', rec));
  }
}
