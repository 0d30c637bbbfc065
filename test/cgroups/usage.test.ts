import { describe, expect, it } from 'vitest';
import { fileNumber, statValue, v1IoBytes, v2IoBytes, workingSet } from '../../reconciler/cgroups/usage.js';

describe('cgroup usage files', () => {
  it('reads flat stat files, whole numbers and limits as the kernel writes them', () => {
    const stat = 'anon 4096\nfile 8192\ninactive_file 4096\ntotal_inactive_file 12288\n';
    expect(statValue(stat, 'inactive_file')).toBe(4096);
    expect(statValue(stat, 'total_inactive_file')).toBe(12288);
    expect(statValue(stat, 'nope')).toBeNull();
    expect(statValue(null, 'anon')).toBeNull();
    expect(statValue('usage_usec 1500000\nuser_usec 1000000\n', 'usage_usec')).toBe(1500000);
    expect(fileNumber('123\n')).toBe(123);
    expect(fileNumber('max\n')).toBeNull();
    expect(fileNumber(null)).toBeNull();
    // Found by position: a key that is the tail of another, or the first line, is still told apart.
    expect(statValue('total_inactive_file 5\ninactive_file 7\n', 'inactive_file')).toBe(7);
    expect(statValue('inactive_file 7\ntotal_inactive_file 5', 'total_inactive_file')).toBe(5);
  });

  it('sums block I/O bytes of v1 blkio and v2 io.stat over devices (v1 Total lines left out)', () => {
    expect(v1IoBytes('8:0 Read 100\n8:0 Write 50\n8:0 Sync 10\n8:16 Read 1\n8:16 Write 2\nTotal 163\n')).toEqual({ read: 101, write: 52 });
    expect(v2IoBytes('8:0 rbytes=100 wbytes=50 rios=1 wios=2 dbytes=0 dios=0\n8:16 rbytes=1 wbytes=2\n')).toEqual({ read: 101, write: 52 });
    expect(v1IoBytes(null)).toEqual({ read: 0, write: 0 });
    expect(v2IoBytes('')).toEqual({ read: 0, write: 0 });
  });

  it('the working set leaves inactive file cache out, never below zero', () => {
    const u = {
      cpuNs: 0,
      memoryBytes: 1000,
      swapBytes: null,
      inactiveFileBytes: 300,
      pids: 1,
      ioReadBytes: 0,
      ioWriteBytes: 0,
      cpuPeriods: 0,
      cpuThrottledPeriods: 0,
      cpuThrottledNs: 0,
      oomKills: 0,
    };
    expect(workingSet(u)).toBe(700);
    expect(workingSet({ ...u, inactiveFileBytes: 5000 })).toBe(0);
  });
});
