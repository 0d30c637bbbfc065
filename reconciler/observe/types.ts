import type { Limits } from '../plan/limits.js';
import type { ContainerRecord, ExitRecord, HealthRecord, PidsRecord } from '../state/records.js';

/** One container as observed: records cross-checked with the kernel. */
export interface ActualContainer {
  name: string;
  /** The controller's record, or null when absent or unreadable. */
  record: ContainerRecord | null;
  /** Why the record could not be used, when a record file exists but is corrupt. */
  recordProblem?: string;
  /** The monitor's pids record of the current run, if any. */
  pids: PidsRecord | null;
  /** The monitor's exit record of the last run, if any. */
  exit: ExitRecord | null;
  /** The init recorded in pids is alive (same pid and start time). */
  initAlive: boolean;
  /** The monitor recorded in pids is alive (same pid and start time). */
  monitorAlive: boolean;
  /** Limits read back from the container's cgroups; null when its cgroup does not exist. */
  limits: Limits | null;
  /** Health of the current run, when checks have run. */
  health?: HealthRecord | null;
  /** Bridge mode: what is wrong with the container's network (namespace or veth gone), if anything. */
  networkProblem?: string;
}

/** Everything observed in one pass. */
export interface ActualSet {
  /** Containers with a state dir, by name. */
  containers: Map<string, ActualContainer>;
  /** Names that have a cgroup or a writable layer but no state dir (left by an interrupted removal). */
  leftovers: string[];
}

/** Lifecycle state derived from what was observed. */
export type ContainerState = 'running' | 'exited' | 'creating' | 'lost' | 'corrupt';

/** Derives the state: the kernel (is the init alive?) first, records second. */
export function stateOf(a: ActualContainer): ContainerState {
  if (!a.record) return 'corrupt';
  if (a.initAlive) return 'running';
  if (a.record.phase === 'creating') return 'creating';
  if (a.exit) return 'exited';
  return 'lost';
}
