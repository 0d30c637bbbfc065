import type { CgroupDriver } from '../cgroups/driver.js';
import type { CgroupUsage } from '../cgroups/usage.js';
import type { HostReader } from '../host/host.js';
import { readNetworkRecord } from '../network/attach.js';
import type { ActualContainer } from '../observe/types.js';
import { DEFAULT_BACKOFF, effectiveBackoff, restartTiming } from '../plan/backoff.js';
import { wantsRestart } from '../plan/plan.js';
import { listAutoUpdates } from '../state/autoUpdate.js';
import type { PockerEvent } from '../state/events.js';
import type { InstanceDirs } from '../state/layout.js';
import { listSourceStatuses, type SourceStatus } from './sourceStatus.js';

/** Where a container is, as metrics and the status page show it (one `pocker_container_state` series each). */
export const CONTAINER_STATES = ['running', 'paused', 'exited', 'backoff', 'stopped', 'creating', 'lost', 'corrupt'] as const;

/** One of CONTAINER_STATES. */
export type ContainerState = (typeof CONTAINER_STATES)[number];

/** One container as the controller last observed it, with what its cgroups and veth say now. */
export interface ContainerView {
  name: string;
  source: string;
  actual: ActualContainer;
  state: ContainerState;
  /** Seconds until its next restart (0 when none is waiting). */
  backoffSeconds: number;
  /** Null when the container has no cgroup now. */
  usage: CgroupUsage | null;
  /** CPU used since the previous snapshot, in % of one CPU (null: no previous one to compare with). */
  cpuPercent: number | null;
  net: { rx: number; tx: number } | null;
  /** Whether the auto-updater saw its tag move to a digest it does not run yet (null: no autoUpdate). */
  updateAvailable: boolean | null;
}

/** What the watching controller knows now: its containers, the spec dirs' last passes, the last events. */
export interface ControllerSnapshot {
  dir: string;
  atMs: number;
  containers: ContainerView[];
  /** Files of the spec dir failing to load now. */
  specErrors: number;
  /** What the last passes over each spec dir applied (their revisions), as `pocker status` shows them. */
  sources: SourceStatus[];
  events: readonly PockerEvent[];
}

/** Where a container is, from one observation (pure). */
export function containerState(a: ActualContainer, now: number): { state: ContainerState; backoffSeconds: number } {
  const r = a.record;
  if (!r) return { state: 'corrupt', backoffSeconds: 0 };
  if (a.initAlive) return { state: a.limits?.frozen ? 'paused' : 'running', backoffSeconds: 0 };
  if (r.stoppedAtMs !== undefined) return { state: 'stopped', backoffSeconds: 0 };
  if (r.phase === 'creating') return { state: 'creating', backoffSeconds: 0 };
  if (!a.exit) return { state: 'lost', backoffSeconds: 0 };
  if (!wantsRestart(r.spec.restart, a.exit)) return { state: 'exited', backoffSeconds: 0 };
  const wait = restartTiming(a, r.backoff ?? effectiveBackoff(r.spec, DEFAULT_BACKOFF)).notBefore - now;
  return wait > 0 ? { state: 'backoff', backoffSeconds: wait / 1000 } : { state: 'exited', backoffSeconds: 0 };
}

function counter(host: HostReader, dev: string, which: 'rx_bytes' | 'tx_bytes'): number | null {
  const t = host.readFile(`/sys/class/net/${dev}/statistics/${which}`)?.trim();
  return t && /^[0-9]+$/.test(t) ? Number(t) : null;
}

/** A bridge container's bytes received and sent (its host veth's counters, seen from inside), or null. */
export function vethCounters(host: HostReader, dirs: InstanceDirs, name: string): { rx: number; tx: number } | null {
  const veth = readNetworkRecord(host, dirs, name)?.hostVeth;
  if (!veth) return null;
  // The host end's receive counter is what the container sent, and the other way round.
  const rx = counter(host, veth, 'tx_bytes');
  const tx = counter(host, veth, 'rx_bytes');
  return rx !== null && tx !== null ? { rx, tx } : null;
}

/** What a snapshot is read from. */
export interface SnapshotSources {
  host: HostReader;
  dirs: InstanceDirs;
  driver: CgroupDriver;
  dir: string;
  /** The controller's last observation of each of its containers. */
  observations: ReadonlyMap<string, ActualContainer>;
  specErrors: number;
  events: readonly PockerEvent[];
  /** The CPU time of each container at the previous snapshot, for its CPU %; updated with this one's. */
  cpuSeen?: Map<string, { cpuNs: number; atMs: number }>;
}

/** Reads a snapshot: the observations as they are, usage and network counters from the kernel now. */
export function takeSnapshot(s: SnapshotSources, now = Date.now()): ControllerSnapshot {
  const updates = listAutoUpdates(s.host, s.dirs);
  const containers: ContainerView[] = [];
  const seen = new Map<string, { cpuNs: number; atMs: number }>();
  for (const a of s.observations.values()) {
    const { state, backoffSeconds } = containerState(a, now);
    const live = state === 'running' || state === 'paused';
    const u = updates.get(a.name);
    const pinned = a.record?.spec.image?.digest;
    const usage = s.driver.usage(a.name, s.host);
    const before = s.cpuSeen?.get(a.name);
    const cpuPercent =
      usage && before && now - before.atMs >= 100 && usage.cpuNs >= before.cpuNs
        ? ((usage.cpuNs - before.cpuNs) / ((now - before.atMs) * 1e6)) * 100
        : null;
    if (usage) seen.set(a.name, { cpuNs: usage.cpuNs, atMs: now });
    containers.push({
      name: a.name,
      source: a.record?.source.dir ?? s.dir,
      actual: a,
      state,
      backoffSeconds,
      usage,
      cpuPercent,
      net: live && a.record?.spec.network.mode === 'bridge' ? vethCounters(s.host, s.dirs, a.name) : null,
      updateAvailable: a.record?.spec.autoUpdate
        ? !!u?.lastCheck?.digest && u.lastCheck.digest !== pinned && !u.bad.includes(u.lastCheck.digest)
        : null,
    });
  }
  containers.sort((x, y) => x.name.localeCompare(y.name));
  if (s.cpuSeen) {
    s.cpuSeen.clear();
    for (const [k, v] of seen) s.cpuSeen.set(k, v);
  }
  return {
    dir: s.dir,
    atMs: now,
    containers,
    specErrors: s.specErrors,
    sources: listSourceStatuses(s.host, s.dirs.stateDir),
    events: s.events,
  };
}
