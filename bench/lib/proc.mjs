// Reads from /proc: rlimits, RSS, PSS of processes.
import { readFileSync } from 'node:fs';

/** The soft/hard limits of this process that matter for running many containers. */
export function rlimits() {
  const text = readFileSync('/proc/self/limits', 'utf8');
  const pick = (label) => {
    const line = text.split('\n').find((l) => l.startsWith(label));
    if (!line) return null;
    const [soft, hard] = line.slice(26).trim().split(/\s+/);
    return { soft, hard };
  };
  return {
    openFiles: pick('Max open files'),
    processes: pick('Max processes'),
    lockedMemory: pick('Max locked memory'),
    stack: pick('Max stack size'),
    pidMax: readFileSync('/proc/sys/kernel/pid_max', 'utf8').trim(),
    threadsMax: readFileSync('/proc/sys/kernel/threads-max', 'utf8').trim(),
  };
}

/** VmRSS of a process in KiB. */
export function rssKiB(pid) {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);
}

/** PSS of a process in KiB (smaps_rollup): its private pages plus its share of shared ones. */
export function pssKiB(pid) {
  return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))[1]);
}
