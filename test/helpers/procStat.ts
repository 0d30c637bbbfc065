import { readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/PID/stat times (USER_HZ, 100 on every Linux architecture pocker runs on). */
export const USER_HZ = 100;

/** The fields of /proc/PID/stat a test reads. */
export interface ProcStat {
  comm: string;
  state: string;
  /** utime + stime, in seconds. */
  cpuSeconds: number;
  /** The CPU the task last ran on (field 39). */
  processor: number;
}

/** Reads /proc/PID/stat (the whole process: its threads' times are summed by the kernel). */
export function procStat(pid: number): ProcStat {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const field = (n: number): string => rest[n - 3]!;
  return {
    comm: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    state: field(3),
    cpuSeconds: (Number(field(14)) + Number(field(15))) / USER_HZ,
    processor: Number(field(39)),
  };
}

/** The CPUs a process may run on, as /proc/PID/status lists them (Cpus_allowed_list, e.g. "0-1"). */
export function cpusAllowed(pid: number): string {
  return /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
}

/** Host pids of every descendant of a process (the children of its main thread, recursively). */
export function descendants(pid: number): number[] {
  let kids: number[] = [];
  try {
    kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
  return kids.flatMap((k) => [k, ...descendants(k)]);
}

/** Per-CPU time of the host since boot from /proc/stat, in seconds: busy (not idle or iowait) and the whole. */
export function cpuTimes(): { busy: number; total: number }[] {
  return readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .filter((l) => /^cpu\d+ /.test(l))
    .map((l) => {
      const [user, nice, system, idle, iowait, irq, softirq, steal] = l.split(/\s+/).slice(1, 9).map(Number) as number[];
      const busy = user! + nice! + system! + irq! + softirq! + steal!;
      return { busy: busy / USER_HZ, total: (busy + idle! + iowait!) / USER_HZ };
    });
}
