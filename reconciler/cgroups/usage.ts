/** What a container uses now, read from its cgroups (the same on v1, hybrid and v2). */
export interface CgroupUsage {
  /** CPU time used by every process since the cgroup was made, in nanoseconds. */
  cpuNs: number;
  memoryBytes: number;
  /** Swap in use (null where the kernel does not account it). */
  swapBytes: number | null;
  /** Page cache that can be dropped at once: what the working set leaves out. */
  inactiveFileBytes: number;
  pids: number;
  /** Bytes read from and written to block devices. */
  ioReadBytes: number;
  ioWriteBytes: number;
  /** CFS periods elapsed, periods throttled and time throttled (ns), from `cpu.stat`. */
  cpuPeriods: number;
  cpuThrottledPeriods: number;
  cpuThrottledNs: number;
  /** Processes the kernel's OOM killer killed in the cgroup (`oom_kill`). */
  oomKills: number;
}

/** Usage minus inactive file cache: what cAdvisor and `docker stats` call the working set. */
export function workingSet(u: CgroupUsage): number {
  return Math.max(0, u.memoryBytes - u.inactiveFileBytes);
}

/** A number of a flat-keyed stat file (`memory.stat`, `cpu.stat`): `key value` lines. */
export function statValue(text: string | null, key: string): number | null {
  if (!text) return null;
  // Found by position rather than by splitting every line: scrapes read memory.stat of each container.
  const at = text.startsWith(`${key} `) ? 0 : text.indexOf(`\n${key} `);
  if (at < 0) return null;
  const start = at === 0 ? key.length + 1 : at + key.length + 2;
  const end = text.indexOf('\n', start);
  const v = text.slice(start, end < 0 ? undefined : end).trim();
  return /^[0-9]+$/.test(v) ? Number(v) : null;
}

/** A whole-number file (`memory.current`, `pids.current`, `cpuacct.usage`), or null. */
export function fileNumber(text: string | null): number | null {
  const t = text?.trim();
  return t && /^[0-9]+$/.test(t) ? Number(t) : null;
}

/** Read and write bytes of v1's `blkio.throttle.io_service_bytes` (`MAJ:MIN Read N` lines; Total lines ignored). */
export function v1IoBytes(text: string | null): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? '').split('\n')) {
    const [dev, op, n] = line.trim().split(/\s+/);
    if (!dev?.includes(':') || n === undefined) continue;
    if (op === 'Read') read += Number(n);
    else if (op === 'Write') write += Number(n);
  }
  return { read, write };
}

/** Read and write bytes of v2's `io.stat` (`MAJ:MIN rbytes=N wbytes=N ...` lines). */
export function v2IoBytes(text: string | null): { read: number; write: number } {
  let read = 0;
  let write = 0;
  for (const line of (text ?? '').split('\n')) {
    for (const kv of line.trim().split(/\s+/).slice(1)) {
      const [k, v] = kv.split('=');
      if (k === 'rbytes') read += Number(v);
      else if (k === 'wbytes') write += Number(v);
    }
  }
  return { read, write };
}
