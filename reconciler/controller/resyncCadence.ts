import type { ReuseObservation } from '../observe/observe.js';
import { stampHolds, type ObservationStamp } from '../observe/stamp.js';
import type { ActualContainer } from '../observe/types.js';

/** Resyncs between two that read everything, by default: with --resync 30s, a full read every 5 minutes. */
export const DEFAULT_FULL_RESYNC_EVERY = 10;

/**
 * Whether an incremental resync may keep an earlier observation of a container instead of reading
 * it again (pure): no notification marked it, its dirs are stamped as they were when it was read
 * (no record renamed in or out), and what only the kernel could tell is being watched: a running
 * container's monitor has a live exit watch (its exit, and so its workload's, would have marked
 * it). Anything odd about the earlier observation (a corrupt record, pids recovered from the
 * cgroup, processes with no init, a monitor without its init) is read again.
 */
export function mayReuse(
  last: ActualContainer | undefined,
  now: ObservationStamp,
  marked: boolean,
  watched: (monitorPid: number) => boolean,
): last is ActualContainer {
  if (!last || marked || !stampHolds(last.stamp, now)) return false;
  if (last.recordProblem || last.pidsRecovered || last.unidentified || last.legacy) return false;
  if (last.initAlive !== last.monitorAlive) return false;
  return !last.monitorAlive || (last.pids !== null && watched(last.pids.monitorPid));
}

/**
 * Which resyncs read everything and which read only what a notification says may have changed.
 * The first resync and then every `fullEvery`-th one read every container from its records and
 * the kernel: drift nothing notifies of (a limit written by hand, a record edited in place) is
 * repaired within one full period. The others reuse each observation that mayReuse allows.
 */
export class ResyncCadence {
  private resyncs = 0;
  private readonly marked = new Set<string>();

  constructor(private readonly fullEvery = DEFAULT_FULL_RESYNC_EVERY) {
    if (!Number.isInteger(fullEvery) || fullEvery < 1) throw new RangeError(`fullEvery must be a whole number >= 1, not ${fullEvery}`);
  }

  /** A notification (an exit, a health change, a worker's step) says the container may have changed. */
  mark(name: string): void {
    this.marked.add(name);
  }

  /** Begins a resync: whether this one reads everything. A full one spends every mark. */
  begin(): boolean {
    const full = this.resyncs % this.fullEvery === 0;
    this.resyncs++;
    if (full) this.marked.clear();
    return full;
  }

  /**
   * The reuse callback of an incremental resync over the last observations; `reused` counts the
   * containers it kept. A mark is spent when the container is read again.
   */
  reuser(
    last: ReadonlyMap<string, ActualContainer>,
    watched: (name: string, monitorPid: number) => boolean,
  ): { reuse: ReuseObservation; reused: () => number } {
    let reused = 0;
    const reuse: ReuseObservation = (name, now) => {
      const earlier = last.get(name);
      const marked = this.marked.delete(name);
      if (!mayReuse(earlier, now, marked, (pid) => watched(name, pid))) return undefined;
      reused++;
      return earlier;
    };
    return { reuse, reused: () => reused };
  }
}
