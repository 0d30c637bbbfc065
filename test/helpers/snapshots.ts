import type { CgroupUsage } from '../../reconciler/cgroups/usage.js';
import { containerState, type ContainerView, type ControllerSnapshot } from '../../reconciler/controller/snapshot.js';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import { specLimits } from '../../reconciler/plan/plan.js';
import { desired, PLAN_FACTS, running, specObj } from './specs.js';

/** What a container's cgroups could read: 48 MiB used of 64, 0.5 CPU, 3 processes. */
export function usageOf(extra: Partial<CgroupUsage> = {}): CgroupUsage {
  return {
    cpuNs: 12_500_000_000,
    memoryBytes: 48 * 2 ** 20,
    swapBytes: 0,
    inactiveFileBytes: 8 * 2 ** 20,
    pids: 3,
    ioReadBytes: 4096,
    ioWriteBytes: 8192,
    cpuPeriods: 100,
    cpuThrottledPeriods: 7,
    cpuThrottledNs: 350_000_000,
    oomKills: 0,
    ...extra,
  };
}

/** A running container of /specs named name, as the controller would hold it. */
export function runningView(
  name: string,
  spec: Record<string, unknown> = {},
  extra: Partial<ActualContainer> = {},
  now = Date.now(),
): ContainerView {
  const d = desired(specObj(name, { resources: { memory: '64Mi', cpus: 0.5 }, ...spec }));
  const actual = running(d, specLimits(d, PLAN_FACTS), extra);
  return {
    name,
    source: '/specs',
    actual,
    ...containerState(actual, now),
    usage: actual.initAlive ? usageOf() : null,
    cpuPercent: null,
    net: null,
    updateAvailable: null,
  };
}

/** A snapshot of these containers of /specs. */
export function snapshotOf(containers: ContainerView[], extra: Partial<ControllerSnapshot> = {}): ControllerSnapshot {
  return {
    dir: '/specs',
    atMs: Date.parse('2026-12-01T10:00:00Z'),
    containers,
    specErrors: 0,
    sources: [],
    events: [],
    ...extra,
  };
}
