// Reads from /proc: rlimits, RSS, PSS and CPU time of processes, the mounts under a tree.
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The soft/hard limits of this process that matter for running many containers. */
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

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

/** Memory cgroups the kernel holds (/proc/cgroups) and how many of them are live directories. */
export function memoryCgroups() {
  const line = readFileSync('/proc/cgroups', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('memory\t'));
  const total = line ? Number(line.split('\t')[2]) : NaN;
  let live = 0;
  const root = existsSync('/sys/fs/cgroup/memory') ? '/sys/fs/cgroup/memory' : '/sys/fs/cgroup';
  const walk = (d) => {
    live++;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(join(d, e.name));
  };
  try {
    walk(root);
  } catch {
    /* counted what could be read */
  }
  return { total, live };
}

/** CPU time (user + system) a process has used, in ms, from /proc/PID/stat (clock ticks of 10 ms). */
export function cpuMs(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Removes a tree after detaching whatever is mounted under it (podman's overlay driver mounts in its store). */
export function removeTreeDetached(env, dir) {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort()
    .reverse();
  for (const m of mounts) env.addon.umount(m, 2 /* MNT_DETACH */);
  rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
}

/**
 * The controller's RSS once V8 has given back what it no longer uses: V8's memory reducer shrinks
 * the heap some 5-30 s after a burst of work, and may wait a whole timer period (~8 s) before the
 * first step, so a steady RSS over one 5 s sample says nothing. Samples every 5 s until four in a
 * row (15 s) are within 1 % (at most settleMs); with settleMs 0, the RSS now.
 */
export async function settledRss(pid, settleMs) {
  const samples = [rssKiB(pid)];
  for (let waited = 0; waited < settleMs; waited += 5000) {
    await sleep(5000);
    samples.push(rssKiB(pid));
    const last4 = samples.slice(-4);
    if (last4.length === 4 && Math.max(...last4) - Math.min(...last4) <= Math.min(...last4) * 0.01) break;
  }
  return samples.at(-1);
}
