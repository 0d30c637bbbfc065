import { join } from 'node:path';
import type { CgroupDriver } from '../runtime/cgroups/driver.js';
import type { HostReader } from '../runtime/host.js';
import { containerPaths, containersDataDir, netnsDir, networkPaths, type InstanceDirs } from '../state/layout.js';
import { parseContainerRecord, parseExitRecord, parseHealthRecord, parsePidsRecord, type PidsRecord } from '../state/records.js';
import type { ActualContainer, ActualSet } from './types.js';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

function alive(host: HostReader, pid: number, startTime: number): boolean {
  return host.procStartTime(pid) === startTime;
}

/** What is missing of a bridge container's attachment: its record, pinned namespace, or the host side of its veth. */
function bridgeProblem(host: HostReader, dirs: InstanceDirs, name: string): string | null {
  const paths = networkPaths(dirs, name);
  const text = host.readFile(paths.record);
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

/** Observes one container from its records and the kernel; null when it has no state at all. */
export function observeContainer(host: HostReader, dirs: InstanceDirs, driver: CgroupDriver, name: string): ActualContainer | null {
  const paths = containerPaths(dirs, name);
  const recordText = host.readFile(paths.record);
  const pidsText = host.readFile(paths.pids);
  if (recordText === null && pidsText === null) return null;
  let pids: PidsRecord | null = null;
  if (pidsText !== null) {
    const p = parsePidsRecord(pidsText);
    if ('value' in p) pids = p.value;
  }
  const exitText = host.readFile(paths.exit);
  const parsed = recordText === null ? { problem: 'record.json is missing' } : parseContainerRecord(recordText);
  // Only a container whose spec has a health check has a health record worth reading.
  const checked = !('value' in parsed) || !!parsed.value.spec.healthcheck;
  const healthText = checked ? host.readFile(paths.health) : null;
  const healthParsed = healthText === null ? null : parseHealthRecord(healthText);
  const health = healthParsed && 'value' in healthParsed && pids && healthParsed.value.initPid === pids.initPid ? healthParsed.value : null;
  const exitParsed = exitText === null ? null : parseExitRecord(exitText);
  const networkProblem = 'value' in parsed && parsed.value.spec.network.mode === 'bridge' ? bridgeProblem(host, dirs, name) : null;
  return {
    ...(networkProblem && { networkProblem }),
    name,
    record: 'value' in parsed && parsed.value.name === name ? parsed.value : null,
    ...('problem' in parsed ? { recordProblem: parsed.problem } : 'value' in parsed && parsed.value.name !== name ? { recordProblem: `record names "${parsed.value.name}"` } : {}),
    pids,
    exit: exitParsed && 'value' in exitParsed ? exitParsed.value : null,
    initAlive: !!pids && alive(host, pids.initPid, pids.initStart),
    monitorAlive: !!pids && alive(host, pids.monitorPid, pids.monitorStart),
    limits: driver.read(name, host),
    health,
  };
}

/**
 * Observes every container of this instance: the state dir lists them, the kernel says which
 * processes live and what their cgroups hold. Names with a cgroup or a writable layer but no
 * state are reported as leftovers.
 */
export function observe(host: HostReader, dirs: InstanceDirs, driver: CgroupDriver): ActualSet {
  const containers = new Map<string, ActualContainer>();
  const names = (host.readDir(dirs.stateDir) ?? []).filter((n) => NAME.test(n)).sort();
  for (const name of names) {
    const a = observeContainer(host, dirs, driver, name);
    if (a) containers.set(name, a);
  }
  const leftovers = new Set<string>();
  const pinned = (host.readDir(netnsDir(dirs)) ?? []).filter((x) => NAME.test(x));
  for (const n of [...driver.list(host), ...(host.readDir(containersDataDir(dirs)) ?? []).filter((x) => NAME.test(x)), ...pinned, ...names]) {
    if (!containers.has(n)) leftovers.add(n);
  }
  return { containers, leftovers: [...leftovers].sort() };
}
