import { join } from 'node:path';
import type { Limits } from '../limits/limits.js';
import { DEFAULT_BACKOFF, effectiveBackoff } from '../plan/backoff.js';
import type { ActualContainer } from '../observe/types.js';
import type { ContainerSpec, DesiredContainer, RestartBackoff } from '../spec/types.js';
import { DEFAULT_STOP_SIGNAL, signalNumber } from '../spec/signals.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../host/timeouts.js';
import { containerPaths, locksDir, networkPaths, volumePath, volumesDir, type ContainerPaths, type InstanceDirs } from '../state/layout.js';
import { RECORD_VERSION, type ContainerRecord, type ExitRecord } from '../state/records.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { RuntimeError, describeError } from '../host/errors.js';
import type { HostFacts } from './facts.js';
import type { Host, MonitorStart, ProcessRef } from '../host/host.js';
import { firewallToolProblem, hostProblems, ioProblems, type LookupCache, unchangeableProblems } from './hostChecks.js';
import { faultPoint } from '../host/faults.js';
import { attachNetwork, detachNetwork } from '../network/attach.js';
import { networkMembers } from '../network/names.js';
import { applyFirewall, firewallToSet, wantedScript } from '../network/firewallState.js';
import { DEFAULT_NETWORK_OPTIONS, type NetworkOptions } from '../network/conflist.js';
import { DEFAULT_LOG_POLICY, monitorConfig, type Attach, type LogPolicy, type MonitorSetup } from './monitorConfig.js';
import { DEVICE_ALLOW_RULES } from './security/policy.js';
import { contentFilePath, rewriteContainerFiles, writeContainerFiles } from './files.js';
import type { UpdateAction } from '../plan/types.js';
import type { IdRange } from '../state/userns.js';
import { recordedRange, releaseRange, reserveRange } from './userns.js';

/** Everything the runtime needs to change containers on this host. */
export interface RuntimeContext {
  host: Host;
  driver: CgroupDriver;
  dirs: InstanceDirs;
  facts: HostFacts;
  monitorBinary: string;
  /** Longest waits for CNI plugins, monitors and locks (default DEFAULT_TIMEOUTS). */
  timeouts?: Timeouts;
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
  /** Told what an action got done anyway but not as it should have (what a removal could not release). */
  warn?: (container: string, message: string) => void;
  /** The entry of /etc/subuid and /etc/subgid the ranges of `userns: auto` come from (default "pocker"). */
  usernsPool?: string;
}

/** How long to wait for a SIGKILLed init, and for a monitor to record the exit. */
const KILL_WAIT_MS = 10_000;
const MONITOR_WAIT_MS = 5_000;

const SIGKILL = 9;

function timeoutsOf(ctx: RuntimeContext): Timeouts {
  return ctx.timeouts ?? DEFAULT_TIMEOUTS;
}

/** Detaches whatever is mounted under a container's data dir (never delete through a mount). */
function unmountUnder(host: Host, paths: ContainerPaths): void {
  for (const m of host.mountsUnder(paths.dataDir)) {
    faultPoint('unmount');
    host.unmount(m);
  }
}

/** Removes a container's whole data dir: record, writable layer, log, network files. */
export function removeDataDir(host: Host, paths: ContainerPaths): void {
  if (host.lkind(paths.dataDir) === null) return;
  unmountUnder(host, paths);
  host.removeTree(paths.dataDir);
}

/** Removes everything of a container's data dir but its record (the record goes last, so a removal cut short is recognised). */
function removeAllButRecord(host: Host, paths: ContainerPaths): void {
  if (host.lkind(paths.dataDir) === null) return;
  unmountUnder(host, paths);
  for (const e of host.readDir(paths.dataDir) ?? []) if (join(paths.dataDir, e) !== paths.record) host.removeTree(join(paths.dataDir, e));
}

function writeRecord(ctx: RuntimeContext, paths: ContainerPaths, record: ContainerRecord): void {
  try {
    faultPoint('write-record', record.name);
    ctx.host.mkdir(paths.dataDir, 0o700);
    ctx.host.writeFileDurable(paths.record, `${JSON.stringify(record)}\n`, 0o600);
  } catch (e) {
    throw recordError(paths, record, e);
  }
}

/** writeRecord waiting for the disk off the event loop (a start: many may wait together). */
async function writeRecordAsync(ctx: RuntimeContext, paths: ContainerPaths, record: ContainerRecord): Promise<void> {
  try {
    faultPoint('write-record', record.name);
    ctx.host.mkdir(paths.dataDir, 0o700);
    await ctx.host.writeFileDurableAsync(paths.record, `${JSON.stringify(record)}\n`, 0o600);
  } catch (e) {
    throw recordError(paths, record, e);
  }
}

function recordError(paths: ContainerPaths, record: ContainerRecord, e: unknown): RuntimeError {
  return new RuntimeError('STATE', `write ${paths.record}: ${describeError(e)}`, { container: record.name, path: paths.record, cause: e });
}

function newRecord(
  ctx: RuntimeContext,
  d: DesiredContainer,
  phase: ContainerRecord['phase'],
  base?: ContainerRecord | null,
  lastExit?: ExitRecord | null,
  userns: IdRange | undefined = base?.userns,
): ContainerRecord {
  const last = lastExit ?? base?.lastExit;
  return {
    version: RECORD_VERSION,
    name: d.spec.name,
    instance: { stateDir: ctx.dirs.stateDir, dataDir: ctx.dirs.dataDir, cgroupParent: ctx.driver.parent },
    source: d.source,
    hash: d.hash,
    user: d.user,
    spec: d.spec,
    phase,
    createdAtMs: base?.createdAtMs ?? Date.now(),
    restartCount: base?.restartCount ?? 0,
    backoffStep: base?.backoffStep ?? 0,
    backoff: effectiveBackoff(d.spec, ctx.backoff ?? DEFAULT_BACKOFF),
    bootId: ctx.host.bootId(),
    ...(ctx.revision ? { revision: ctx.revision } : base?.revision ? { revision: base.revision } : {}),
    ...(last && { lastExit: last }),
    ...(base?.dependencyRuns && { dependencyRuns: base.dependencyRuns }),
    ...(userns && { userns }),
  };
}

/**
 * The host ids a start runs with: on a kept layer, the range its record holds (a container never
 * changes user namespace without a recreate); fresh, a range reserved for the spec's `userns:
 * auto` (the last record's again when it fits), none for `host`.
 */
async function rangeForStart(
  ctx: RuntimeContext,
  d: DesiredContainer,
  keepLayer: boolean,
  restartOf?: ContainerRecord | null,
): Promise<IdRange | undefined> {
  const name = d.spec.name;
  const last = restartOf?.userns ?? recordedRange(ctx.host, ctx.dirs, name);
  if (keepLayer) return last;
  if (d.spec.userns.mode === 'host') {
    releaseRange(ctx.host, ctx.dirs, name, last);
    return undefined;
  }
  return reserveRange(ctx.host, ctx.dirs, name, d.spec.userns.size, ctx.usernsPool, last);
}

/**
 * Throws HOST_CHECK when the host cannot run this spec; nothing has been changed at that point.
 * keepLayer: the start will run on the container's existing writable layer (its files count).
 */
export function checkHost(ctx: RuntimeContext, d: DesiredContainer, keepLayer = false): void {
  checkIo(ctx, d);
  const paths = containerPaths(ctx.dirs, d.spec.name);
  const site = { paths, keepLayer };
  const problems = hostProblems(d.spec, ctx.facts, ctx.host, (ctx.lookups ??= new Map()), site);
  if (!problems.length) return;
  const unchangeable = new Set(unchangeableProblems(d.spec, ctx.facts, site));
  throw new RuntimeError('HOST_CHECK', problems.join('; '), {
    container: d.spec.name,
    terminal: problems.every((p) => unchangeable.has(p)),
  });
}

/** Throws HOST_CHECK, with the device path, when the spec's io throttles cannot be applied here. */
export function checkIo(ctx: RuntimeContext, d: DesiredContainer): void {
  const problems = ioProblems(d.spec, ctx.facts);
  if (problems.length)
    throw new RuntimeError('HOST_CHECK', problems.map((p) => p.message).join('; '), { container: d.spec.name, path: problems[0]!.device });
}

/** How a container starts: fresh, or again on its writable layer. */
export interface StartOptions {
  /** Start on the existing writable layer (a restart, a start after a reboot, an adopted layer); default: when restartOf is given. */
  keepLayer?: boolean;
  /** The record of the run this one follows (its counters carry on; a restart is counted). */
  restartOf?: ContainerRecord | null;
  /** Quick restarts in a row, this one included. */
  backoffStep?: number;
  /** The exit of the run this one follows (kept in the record: the exit file is cleared for the new run). */
  lastExit?: ExitRecord | null;
  /** The run of each dependency this start follows (recorded for restartWith). */
  dependencyRuns?: Record<string, number>;
}

/**
 * Creates the named volumes a spec uses that do not exist yet (`<data-dir>/volumes` root-only,
 * each volume's root 0755 root:root). A volume is never removed with its containers.
 */
export function ensureVolumes(host: Host, dirs: InstanceDirs, spec: ContainerSpec): void {
  if (!spec.volumes.length) return;
  if (host.lkind(volumesDir(dirs)) === null) host.mkdir(volumesDir(dirs), 0o700);
  for (const v of spec.volumes) if (host.lkind(volumePath(dirs, v.name)) === null) host.mkdir(volumePath(dirs, v.name), 0o755);
}

/**
 * Starts a container: record (creating) -> cgroups with limits -> network -> monitor (which
 * creates the writable layer's dirs and the init, and reports) -> record (created). A fresh start
 * clears whatever an interrupted create left; keepLayer starts on the layer there is. On failure
 * everything this call made is undone: a fresh container leaves nothing behind, a restart leaves
 * its record and layer as they were.
 */
export async function startContainer(
  ctx: RuntimeContext,
  d: DesiredContainer,
  limits: Limits,
  o: StartOptions = {},
): Promise<{ initPid: number; monitorPid: number }> {
  const { host, driver } = ctx;
  const name = d.spec.name;
  const paths = containerPaths(ctx.dirs, name);
  const keepLayer = o.keepLayer ?? !!o.restartOf;
  let userns: IdRange | undefined;
  try {
    host.mkdir(ctx.dirs.stateDir, 0o700);
    host.mkdir(paths.stateDir, 0o700);
    userns = await rangeForStart(ctx, d, keepLayer, o.restartOf);
    if (!keepLayer) {
      removeDataDir(host, paths);
      await writeRecordAsync(ctx, paths, newRecord(ctx, d, 'creating', null, null, userns));
      faultPoint('create:record', name);
    }
    host.removeFile(paths.pids);
    host.removeFile(paths.exit);
    host.removeFile(paths.legacyExit);
    await driver.remove(name, host);
    // A paused spec is frozen only once its init has reported: a frozen cgroup would stop the init mid-setup.
    driver.create(name, { ...limits, frozen: false }, host, d.spec.privileged ? null : DEVICE_ALLOW_RULES);
    faultPoint('create:cgroup', name);
    const members = d.spec.network.mode === 'bridge' ? networkMembers(host, ctx.dirs) : new Map();
    const net =
      d.spec.network.mode === 'bridge'
        ? await attachNetwork(
            host,
            ctx.dirs,
            d.spec,
            ctx.network ?? DEFAULT_NETWORK_OPTIONS,
            timeoutsOf(ctx),
            members.get(d.spec.network.name) ?? [],
            userns,
          )
        : undefined;
    // The workload never runs a moment without its firewall.
    if (firewallToSet(host, ctx.dirs, name, d.spec.network))
      await applyFirewall(host, ctx.dirs, name, wantedScript(host, ctx.dirs, name, d.spec.network, members));
    faultPoint('create:network', name);
    ensureVolumes(host, ctx.dirs, d.spec);
    writeContainerFiles(host, paths, d, userns);
    // Let every other container of this pass create its cgroups before monitors start: cgroup
    // mkdirs then never wait behind the monitors' cgroup migrations (which hold cgroup_mutex).
    await new Promise((r) => setImmediate(r));
    const starting = launchMonitor(ctx, d, paths, net, userns);
    faultPoint('create:spawned', name);
    const started = await starting;
    if (!started.ok) throw new RuntimeError(started.timedOut ? 'MONITOR_TIMEOUT' : 'CONTAINER_START', started.message, { container: name });
    faultPoint('create:started', name);
    const record = newRecord(ctx, d, 'created', o.restartOf, o.lastExit, userns);
    if (o.restartOf) record.restartCount = o.restartOf.restartCount + 1;
    record.backoffStep = o.backoffStep ?? 0;
    if (o.dependencyRuns) record.dependencyRuns = o.dependencyRuns;
    host.removeFile(paths.health);
    await writeRecordAsync(ctx, paths, record);
    faultPoint('create:recorded', name);
    if (limits.frozen) driver.update(name, limits, { ...limits, frozen: false }, host);
    return { initPid: started.initPid, monitorPid: started.monitorPid };
  } catch (e) {
    await undoStart(ctx, name, paths, keepLayer);
    if (!keepLayer) releaseRange(host, ctx.dirs, name, userns);
    throw e instanceof RuntimeError ? e : new RuntimeError('CONTAINER_START', describeError(e), { container: name, cause: e });
  }
}

/**
 * Builds the monitor's config and starts it. Not async, so the config Buffer is garbage once the
 * monitor has it: an async caller would keep it while the start is awaited.
 */
function launchMonitor(
  ctx: RuntimeContext,
  d: DesiredContainer,
  paths: ContainerPaths,
  net: MonitorSetup['net'],
  userns: IdRange | undefined,
): Promise<MonitorStart> {
  const { host, driver } = ctx;
  const name = d.spec.name;
  const config = monitorConfig(d.spec, {
    paths,
    placement: driver.placement(name),
    sourceIsDir: (src) => host.kind(src) === 'dir',
    volumePath: (v) => volumePath(ctx.dirs, v),
    contentPath: (kind, target) => contentFilePath(paths, kind, target),
    bootId: host.bootId(),
    log: ctx.logPolicy ?? DEFAULT_LOG_POLICY,
    ...(net && { net }),
    ...(ctx.attach && { attach: ctx.attach }),
    ...(userns && { userns }),
  });
  return host.startMonitor(ctx.monitorBinary, config, {
    label: paths.stateDir,
    lockPath: join(locksDir(ctx.dirs), name),
    ...(ctx.attach && { stdio: ctx.attach.stdio }),
    timeoutMs: timeoutsOf(ctx).monitorMs,
  });
}

async function undoStart(ctx: RuntimeContext, name: string, paths: ContainerPaths, keepLayer: boolean): Promise<void> {
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
  if (keepLayer) return;
  for (const p of await detachNetwork(ctx.host, ctx.dirs, name, timeoutsOf(ctx))) ctx.warn?.(name, p);
  removeDataDir(ctx.host, paths);
  ctx.host.removeTree(paths.stateDir);
}

/** The container's stop signal (SIGTERM unless its spec or image says), the grace period, SIGKILL; then wait for the monitor to record the exit. */
export async function terminateWorkload(ctx: RuntimeContext, a: ActualContainer, graceMs: number): Promise<void> {
  if (!a.pids) return;
  // A frozen workload cannot handle its stop signal: thaw it first.
  if (a.limits?.frozen) ctx.driver.update(a.name, { ...a.limits, frozen: false }, a.limits, ctx.host);
  const init: ProcessRef = { pid: a.pids.initPid, startTime: a.pids.initStart };
  const monitor: ProcessRef = { pid: a.pids.monitorPid, startTime: a.pids.monitorStart };
  if (ctx.host.signal(init, signalNumber(a.record?.spec.stopSignal ?? DEFAULT_STOP_SIGNAL))) {
    if (!(await ctx.host.waitForExit(init, graceMs))) {
      ctx.host.signal(init, SIGKILL);
      if (!(await ctx.host.waitForExit(init, KILL_WAIT_MS))) {
        throw new RuntimeError('STOP', `init ${init.pid} did not exit ${KILL_WAIT_MS} ms after SIGKILL`, { container: a.name });
      }
    }
  }
  if (monitor.pid > 0) await ctx.host.waitForExit(monitor, MONITOR_WAIT_MS);
}

/**
 * Stops a container on purpose (`state: stopped`, `pocker stop`) and records that, so no restart
 * policy brings it back; its writable layer, log, cgroups and network stay for the next start.
 */
export async function stopContainer(ctx: RuntimeContext, a: ActualContainer): Promise<void> {
  const rec = a.record;
  if (!rec) throw new RuntimeError('STATE', `container "${a.name}" has no readable record`, { container: a.name });
  await terminateWorkload(ctx, a, rec.spec.stopGracePeriodMs);
  writeRecord(ctx, containerPaths(ctx.dirs, a.name), { ...rec, phase: 'created', stoppedAtMs: Date.now() });
  if (a.legacy) retireLegacyFiles(ctx, a.name);
}

/** Keeps a copy of an unreadable record (`<data-dir>/.quarantine/`) before it is replaced. */
export function quarantineRecord(ctx: RuntimeContext, a: ActualContainer): void {
  const paths = containerPaths(ctx.dirs, a.name);
  const text = ctx.host.readFile(paths.record) ?? ctx.host.readFile(paths.legacyRecord);
  if (text === null) return;
  const dir = join(ctx.dirs.dataDir, '.quarantine');
  ctx.host.mkdir(dir, 0o700);
  ctx.host.writeFileDurable(join(dir, `${a.name}-${Date.now()}.json`), text, 0o600);
}

/**
 * Stops a container and deletes everything it owned: cgroups, network, writable layer, log,
 * state, and its record last (marked `removing` first, so a removal cut short is finished by the
 * next pass). Never fails on what the network plugins cannot undo: that is released by hand and
 * reported through ctx.warn.
 */
export async function removeContainer(ctx: RuntimeContext, a: ActualContainer): Promise<void> {
  const paths = containerPaths(ctx.dirs, a.name);
  if (!a.record && a.recordProblem) quarantineRecord(ctx, a);
  if (a.record && a.record.phase !== 'removing') writeRecord(ctx, paths, { ...a.record, phase: 'removing' });
  faultPoint('remove:marked', a.name);
  await terminateWorkload(ctx, a, a.record?.spec.stopGracePeriodMs ?? 10_000);
  faultPoint('remove:stopped', a.name);
  await ctx.driver.remove(a.name, ctx.host);
  faultPoint('remove:cgroup', a.name);
  for (const p of await detachNetwork(ctx.host, ctx.dirs, a.name, timeoutsOf(ctx))) ctx.warn?.(a.name, p);
  faultPoint('remove:network', a.name);
  removeAllButRecord(ctx.host, paths);
  faultPoint('remove:data', a.name);
  ctx.host.removeTree(paths.stateDir);
  faultPoint('remove:state', a.name);
  removeDataDir(ctx.host, paths);
  releaseRange(ctx.host, ctx.dirs, a.name, a.record?.userns);
}

/** Removes what release 1 kept in the state dir once the data dir holds it (records, the attachment). */
function retireLegacyFiles(ctx: RuntimeContext, name: string): void {
  const paths = containerPaths(ctx.dirs, name);
  ctx.host.removeFile(paths.legacyRecord);
  ctx.host.removeFile(paths.legacyExit);
  ctx.host.removeTree(join(paths.stateDir, 'etc'));
}

/** Moves a release-1 container's network attachment record to the data dir (the running container keeps its /etc binds). */
function migrateNetworkRecord(ctx: RuntimeContext, name: string): void {
  const net = networkPaths(ctx.dirs, name);
  const text = ctx.host.readFile(net.legacyRecord);
  if (text === null || ctx.host.readFile(net.record) !== null) return;
  ctx.host.mkdir(containerPaths(ctx.dirs, name).dataDir, 0o700);
  ctx.host.writeFileDurable(net.record, text, 0o600);
  ctx.host.removeFile(net.legacyRecord);
}

/**
 * Applies new limits to the live cgroups, rewrites changed files and secrets in place and sends
 * the signals they ask for, replaces the firewall table, then records the spec; the process is not restarted. Also records what
 * the kernel says of a container whose state was lost: pids found in its cgroup, a release-1
 * record moved to the data dir. Returns false, having changed nothing, when a file to rewrite has
 * no host file any more (only a restart can bind a new one).
 */
export async function updateContainer(
  ctx: RuntimeContext,
  d: DesiredContainer,
  a: ActualContainer,
  limits: Limits,
  changed: readonly string[],
  extra: Pick<UpdateAction, 'files' | 'firewall'> = {},
): Promise<boolean> {
  checkIo(ctx, d);
  const nft = extra.firewall !== undefined ? firewallToolProblem(d.spec, ctx.host) : null;
  if (nft) throw new RuntimeError('HOST_CHECK', nft, { container: d.spec.name });
  const { files } = extra;
  const paths = containerPaths(ctx.dirs, d.spec.name);
  if (files && !rewriteContainerFiles(ctx.host, paths, d, files.changes, a.record?.userns)) return false;
  if (extra.firewall !== undefined) await applyFirewall(ctx.host, ctx.dirs, d.spec.name, extra.firewall);
  if (changed.length && a.limits) ctx.driver.update(d.spec.name, limits, a.limits, ctx.host);
  faultPoint('update:cgroup', d.spec.name);
  if (files?.signals.length && a.pids) {
    const init: ProcessRef = { pid: a.pids.initPid, startTime: a.pids.initStart };
    for (const s of files.signals) ctx.host.signal(init, signalNumber(s));
  }
  if (a.pidsRecovered && a.pids) {
    ctx.host.mkdir(ctx.dirs.stateDir, 0o700);
    ctx.host.mkdir(paths.stateDir, 0o700);
    ctx.host.writeFileAtomic(paths.pids, `${JSON.stringify(a.pids)}\n`, 0o600);
  }
  if (a.legacy) migrateNetworkRecord(ctx, d.spec.name);
  const rec = a.record;
  if (
    !rec ||
    a.legacy ||
    rec.hash !== d.hash ||
    rec.phase !== 'created' ||
    JSON.stringify(rec.source) !== JSON.stringify(d.source) ||
    JSON.stringify([rec.spec.files, rec.spec.secrets]) !== JSON.stringify([d.spec.files, d.spec.secrets])
  ) {
    const stale = a.legacy && a.initAlive ? a.exit : null;
    writeRecord(ctx, paths, newRecord(ctx, d, 'created', rec, stale));
  }
  if (a.legacy) retireLegacyFiles(ctx, d.spec.name);
  return true;
}
