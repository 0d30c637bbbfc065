import type { ObservationStamp } from './stamp.js';
import type { Limits } from '../limits/limits.js';
import type { ContainerRecord, ExitRecord, HealthRecord, InstanceIdentity, PidsRecord } from '../state/records.js';

/** One container as observed: records cross-checked with the kernel. */
export interface ActualContainer {
  name: string;
  /** The controller's record, or null when absent or unreadable. */
  record: ContainerRecord | null;
  /** Why the record could not be used, when a record file exists but is corrupt. */
  recordProblem?: string;
  /** The record was found where release 1 kept it (the state dir): the next action moves it to the data dir. */
  legacy?: boolean;
  /** The record names another instance (its data dir was copied or shared): left alone. */
  foreign?: InstanceIdentity;
  /** The monitor's pids record of the current run, if any (from this boot only). */
  pids: PidsRecord | null;
  /** The pids were not recorded (the state dir was wiped) but found in the container's cgroup: the next action records them. */
  pidsRecovered?: boolean;
  /** Processes live in the container's cgroup but none of them is its init: nothing is done to them. */
  unidentified?: number[];
  /** The exit record of the last run, if it has exited. */
  exit: ExitRecord | null;
  /** The init recorded in pids is alive (same pid and start time). */
  initAlive: boolean;
  /** The monitor recorded in pids is alive (same pid and start time). */
  monitorAlive: boolean;
  /** The container last started in another boot than the current one (a reboot came between). */
  rebooted?: boolean;
  /** Limits read back from the container's cgroups; null when its cgroup does not exist. */
  limits: Limits | null;
  /** Health of the current run, when checks have run. */
  health?: HealthRecord | null;
  /** Bridge mode: what is wrong with the container's network (namespace or veth gone), if anything. */
  networkProblem?: string;
  /** Its dirs as they stood when this was read (a later resync may reuse it while they stand so). */
  stamp?: ObservationStamp;
}

/** Something under the instance's directories or cgroup parent that no record of it explains: reported, never removed. */
export interface Stranger {
  name: string;
  /** What was found and why it is left alone. */
  message: string;
}

/** Everything observed in one pass. */
export interface ActualSet {
  /** Containers with a record or a pids record, by name. */
  containers: Map<string, ActualContainer>;
  /** Names with only this instance's runtime leftovers (an empty data dir, state files, a pinned namespace): safe to collect. */
  leftovers: string[];
  /** Cgroups, processes or writable layers that may be alive or another instance's. */
  strangers: Stranger[];
}

/**
 * Where a container is in its life, derived from what was observed. Not to be confused with a
 * spec's `state` (what the user wants: running, paused, stopped) or the state dir (where the
 * runtime files live).
 */
export type ObservedStatus = 'running' | 'exited' | 'creating' | 'lost' | 'corrupt';

/** Derives the status: the kernel (is the init alive?) first, records second. */
export function observedStatus(a: ActualContainer): ObservedStatus {
  if (!a.record) return 'corrupt';
  if (a.initAlive) return 'running';
  if (a.record.phase === 'creating') return 'creating';
  if (a.exit) return 'exited';
  return 'lost';
}
