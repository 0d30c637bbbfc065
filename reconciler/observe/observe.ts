import type { CgroupDriver } from '../cgroups/driver.js';
import type { HostReader } from '../host/host.js';
import { isContainerName } from '../spec/names.js';
import { layerHasContent } from '../state/layerContent.js';
import { containerPaths, containersDataDir, netnsDir, networkPaths, type ContainerPaths, type InstanceDirs } from '../state/layout.js';
import {
  migrateLegacyRecord,
  parseContainerRecord,
  parseExitRecord,
  parseHealthRecord,
  parseLegacyRecord,
  parsePidsRecord,
  sameInstance,
  type ContainerRecord,
  type ExitRecord,
  type PidsRecord,
} from '../state/records.js';
import { observationStamp, type ObservationStamp } from './stamp.js';
import type { ActualContainer, ActualSet, Stranger } from './types.js';

function alive(host: HostReader, pid: number, startTime: number): boolean {
  return pid > 0 && host.procStartTime(pid) === startTime;
}

/** A container's pids record, when there is a readable one of this boot. */
function readPids(host: HostReader, paths: ContainerPaths): PidsRecord | null {
  const text = host.readFile(paths.pids);
  const p = text === null ? null : parsePidsRecord(text);
  return p && 'value' in p && (p.value.bootId === undefined || p.value.bootId === host.bootId()) ? p.value : null;
}

/** Whether the init named by a container's pids record of this boot is alive now (false without one). */
export function initAliveNow(host: HostReader, dirs: InstanceDirs, name: string): boolean {
  const pids = readPids(host, containerPaths(dirs, name));
  return !!pids && alive(host, pids.initPid, pids.initStart);
}

/** What is missing of a bridge container's attachment: its record, pinned namespace, or the host side of its veth. */
function bridgeProblem(host: HostReader, dirs: InstanceDirs, name: string): string | null {
  const paths = networkPaths(dirs, name);
  const text = host.readFile(paths.record) ?? host.readFile(paths.legacyRecord);
  if (text === null) return 'its network attachment record is missing';
  let rec: { hostVeth?: string; address?: string };
  try {
    rec = JSON.parse(text) as typeof rec;
  } catch {
    return 'its network attachment record is unreadable';
  }
  if (!rec.address) return 'its network was never attached (CNI ADD did not complete)';
  if (host.kind(paths.netns) !== 'file') return `its network namespace ${paths.netns} is gone`;
  if (rec.hostVeth && host.lkind(`/sys/class/net/${rec.hostVeth}`) === null) return `its veth ${rec.hostVeth} is gone`;
  return null;
}

/** The record of a container: the data dir's, else one release 1 left in the state dir (migrated on the fly). */
export function readRecord(
  host: HostReader,
  dirs: InstanceDirs,
  name: string,
  paths: ContainerPaths = containerPaths(dirs, name),
): { record: ContainerRecord | null; problem?: string; legacy?: boolean; present: boolean } {
  const text = host.readFile(paths.record);
  if (text !== null) {
    const r = parseContainerRecord(text);
    if ('problem' in r) return { record: null, problem: `${paths.record}: ${r.problem}`, present: true };
    if (r.value.name !== name) return { record: null, problem: `${paths.record} names "${r.value.name}"`, present: true };
    return { record: r.value, present: true };
  }
  const legacyText = host.readFile(paths.legacyRecord);
  if (legacyText === null) return { record: null, present: false };
  const l = parseLegacyRecord(legacyText);
  if ('problem' in l) return { record: null, problem: `${paths.legacyRecord}: ${l.problem}`, present: true };
  if (l.value.name !== name) return { record: null, problem: `${paths.legacyRecord} names "${l.value.name}"`, present: true };
  return { record: migrateLegacyRecord(l.value, dirs, host.bootId()), legacy: true, present: true };
}

function readExit(host: HostReader, paths: ContainerPaths): ExitRecord | null {
  const text = host.readFile(paths.exit) ?? host.readFile(paths.legacyExit);
  const parsed = text === null ? null : parseExitRecord(text);
  return parsed && 'value' in parsed ? parsed.value : null;
}

/** Clock ticks per second of /proc/<pid>/stat start times (USER_HZ, 100 on every Linux architecture pocker builds for). */
const CLOCK_TICKS = 100;

/**
 * The pids of a container whose pids record is gone (a wiped state dir) from the kernel: its init
 * is the process of its cgroup that is PID 1 of its own PID namespace, its monitor the init's
 * parent when that is the monitor pocker started for this container. 'unidentified' when
 * processes live there but none is its init; null when none lives there.
 */
export function recoverPids(host: HostReader, dirs: InstanceDirs, driver: CgroupDriver, name: string): PidsRecord | 'unidentified' | null {
  const procs = driver.procs(name, host);
  if (!procs.length) return null;
  for (const pid of procs) {
    const status = host.readFile(`/proc/${pid}/status`) ?? '';
    const nspid = /^NSpid:\s*(.+)$/m.exec(status)?.[1]?.trim().split(/\s+/);
    if (!nspid || nspid.length < 2 || nspid[nspid.length - 1] !== '1') continue;
    const initStart = host.procStartTime(pid);
    const ppid = Number(/^PPid:\s*(\d+)$/m.exec(status)?.[1] ?? 0);
    if (initStart === null) continue;
    const argv = (host.readFile(`/proc/${ppid}/cmdline`) ?? '').split('\0');
    const isMonitor = ppid > 0 && (argv[0] ?? '').endsWith('pocker-monitor') && argv[2] === containerPaths(dirs, name).stateDir;
    const monitorStart = isMonitor ? host.procStartTime(ppid) : null;
    const btime = Number(/^btime (\d+)$/m.exec(host.readFile('/proc/stat') ?? '')?.[1] ?? 0);
    return {
      bootId: host.bootId(),
      monitorPid: isMonitor && monitorStart !== null ? ppid : 0,
      monitorStart: monitorStart ?? 0,
      initPid: pid,
      initStart,
      startedAtMs: btime * 1000 + Math.round((initStart * 1000) / CLOCK_TICKS),
    };
  }
  return 'unidentified';
}

/**
 * Observes one container from its records and the kernel; null when it has neither a record nor a
 * pids record. `stamp`, taken just before (observationStamp), goes with the observation for a
 * caller that may reuse it later.
 */
export function observeContainer(
  host: HostReader,
  dirs: InstanceDirs,
  driver: CgroupDriver,
  name: string,
  stamp?: ObservationStamp,
): ActualContainer | null {
  const paths = containerPaths(dirs, name);
  const rec = readRecord(host, dirs, name, paths);
  let pids = readPids(host, paths);
  if (!rec.present && pids === null) return null;
  const record = rec.record;
  if (record && !sameInstance(record.instance, dirs)) {
    return {
      name,
      record,
      foreign: record.instance,
      pids: null,
      exit: null,
      initAlive: false,
      monitorAlive: false,
      limits: null,
      ...(stamp && { stamp }),
    };
  }
  let pidsRecovered = false;
  let unidentified: number[] | undefined;
  if (!pids && record) {
    const found = recoverPids(host, dirs, driver, name);
    if (found === 'unidentified') unidentified = driver.procs(name, host);
    else if (found) {
      pids = found;
      pidsRecovered = true;
    }
  }
  const initAlive = !!pids && alive(host, pids.initPid, pids.initStart);
  // Only a container whose spec has a health check has a health record worth reading.
  const healthText = !record || record.spec.healthcheck ? host.readFile(paths.health) : null;
  const healthParsed = healthText === null ? null : parseHealthRecord(healthText);
  const health = healthParsed && 'value' in healthParsed && pids && healthParsed.value.initPid === pids.initPid ? healthParsed.value : null;
  const networkProblem = record && record.spec.network.mode === 'bridge' ? bridgeProblem(host, dirs, name) : null;
  return {
    name,
    record,
    ...(rec.problem && { recordProblem: rec.problem }),
    ...(rec.legacy && { legacy: true }),
    pids,
    ...(pidsRecovered && { pidsRecovered }),
    ...(unidentified && { unidentified }),
    exit: readExit(host, paths),
    initAlive,
    monitorAlive: !!pids && alive(host, pids.monitorPid, pids.monitorStart),
    ...(record && !initAlive && !pids && record.bootId !== host.bootId() && { rebooted: true }),
    limits: driver.read(name, host),
    health,
    ...(networkProblem && { networkProblem }),
    ...(stamp && { stamp }),
  };
}

/** observeContainer with the stamp of its dirs taken just before, for the watching controller to reuse. */
export function observeContainerStamped(host: HostReader, dirs: InstanceDirs, driver: CgroupDriver, name: string): ActualContainer | null {
  return observeContainer(host, dirs, driver, name, observationStamp(host, dirs, name, Date.now()));
}

/**
 * Gives an earlier observation of a container that still stands for its dirs as stamped now, or
 * undefined to have it read again (observe's incremental mode).
 */
export type ReuseObservation = (name: string, now: ObservationStamp) => ActualContainer | undefined;

/**
 * Observes every container of this instance: the data dir lists what exists, the state dir what
 * ran in this boot, the kernel which processes live and what their cgroups hold. What no record
 * of this instance explains is sorted into leftovers (only this instance's own runtime files and
 * empty dirs: safe to collect) and strangers (cgroups, processes or layers that may be alive or
 * another instance's: reported, never touched). `watching` is for the watching controller: each
 * observation is stamped, and with `reuse` a container whose earlier observation still stands is
 * not read again (the names are always listed anew).
 */
export function observe(host: HostReader, dirs: InstanceDirs, driver: CgroupDriver, watching?: { reuse?: ReuseObservation }): ActualSet {
  const containers = new Map<string, ActualContainer>();
  const dataNames = (host.readDir(containersDataDir(dirs)) ?? []).filter(isContainerName);
  const stateNames = (host.readDir(dirs.stateDir) ?? []).filter(isContainerName);
  const pinned = (host.readDir(netnsDir(dirs)) ?? []).filter(isContainerName);
  const cgroups = driver.list(host);
  const leftovers: string[] = [];
  const strangers: Stranger[] = [];
  for (const name of [...new Set([...dataNames, ...stateNames, ...pinned, ...cgroups])].sort()) {
    const stamp = watching ? observationStamp(host, dirs, name, Date.now()) : undefined;
    const a = (stamp && watching?.reuse?.(name, stamp)) ?? observeContainer(host, dirs, driver, name, stamp);
    if (a) {
      containers.set(name, a);
      continue;
    }
    const procs = cgroups.includes(name) ? driver.procs(name, host) : [];
    if (procs.length) {
      strangers.push({
        name,
        message: `processes ${procs.slice(0, 5).join(' ')}${procs.length > 5 ? ' …' : ''} in cgroup ${driver.dirs(name)[0]} belong to no container of this instance (another instance on the same cgroup parent, or started by hand): left alone`,
      });
      continue;
    }
    if (cgroups.includes(name))
      strangers.push({
        name,
        message: `cgroup ${driver.dirs(name)[0]} has no record in ${containersDataDir(dirs)}: left alone (another instance's, or made by hand)`,
      });
    const paths = containerPaths(dirs, name);
    if (dataNames.includes(name) && layerHasContent(host, paths)) {
      strangers.push({
        name,
        message: `writable layer ${paths.dataDir} has no record: kept (a container named ${name} would start on it)`,
      });
      continue;
    }
    if (dataNames.includes(name) || stateNames.includes(name) || pinned.includes(name)) leftovers.push(name);
  }
  return { containers, leftovers, strangers };
}
