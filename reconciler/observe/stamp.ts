import { SETTLED_MS, type HostReader } from '../host/host.js';
import { containerDirs, type InstanceDirs } from '../state/layout.js';

/** What a container's observation was read from: its data dir and state dir as they stood just before. */
export interface ObservationStamp {
  /** The change stamps of the data dir and the state dir (each record is renamed into one of them). */
  dirs: string;
  /** Both dirs had been left alone for SETTLED_MS when the observation began. */
  settled: boolean;
}

/**
 * The stamp of a container's dirs now. Every record a container has (its record, network
 * attachment and exit record in the data dir; the monitor's pids and the health record in the
 * state dir) is written by a rename into one of them, which changes the dir's stamp. Appends to
 * its log do not.
 */
export function observationStamp(host: HostReader, dirs: InstanceDirs, name: string, nowMs: number): ObservationStamp {
  const paths = containerDirs(dirs, name);
  const data = host.changeStamp(paths.dataDir);
  const state = host.changeStamp(paths.stateDir);
  const newest = Math.max(data?.changedAtMs ?? 0, state?.changedAtMs ?? 0);
  // Kept for every container until its next change: join gives one flat string, where a template
  // literal of the ids' template literals would keep a tree of some 20 string pieces (~500 bytes).
  return { dirs: [data?.id ?? '-', state?.id ?? '-'].join('|'), settled: nowMs - newest >= SETTLED_MS };
}

/** Whether an earlier observation still stands for dirs stamped `now`: it was settled and nothing was renamed in or out since. */
export function stampHolds(earlier: ObservationStamp | undefined, now: ObservationStamp): boolean {
  return earlier !== undefined && earlier.settled && earlier.dirs === now.dirs;
}
