import { DEFAULT_CPU_PERIOD_US, type LimitFacts } from '../limits/limits.js';
import { parseCpuList } from '../spec/cpuset.js';
import type { DesiredContainer } from '../spec/types.js';
import { resolveBlockDevices } from './blockDevices.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import type { HostReader } from '../host/host.js';
import { argMaxFor } from './startLimits.js';

const AT_PAGESZ = 6n;

/** The kernel page size, from the aux vector (Node has no sysconf); 4096 when it cannot be read. */
export function pageSize(host: HostReader): number {
  try {
    const auxv = host.readBytes('/proc/self/auxv') ?? Buffer.alloc(0);
    for (let off = 0; off + 16 <= auxv.length; off += 16) {
      if (auxv.readBigUInt64LE(off) === AT_PAGESZ) return Number(auxv.readBigUInt64LE(off + 8));
    }
  } catch {
    /* fall through to the common size */
  }
  return 4096;
}

/** Host facts for one pass: what limits mean here, and what the host offers. */
export interface HostFacts extends LimitFacts {
  memswSupported: boolean;
  /** Online CPU numbers. */
  onlineCpus: number[];
  /** Block I/O throttles are possible (v1 blkio, v2 io). */
  ioSupported: boolean;
  /** Bytes of arguments and environment execve takes here (from the stack size limit). */
  argMax: number;
}

/** The soft stack size limit of this process (inherited by monitors and workloads), from /proc/self/limits. */
export function stackLimit(host: HostReader): number {
  const line = (host.readFile('/proc/self/limits') ?? '').split('\n').find((l) => l.startsWith('Max stack size'));
  const soft = line?.slice('Max stack size'.length).trim().split(/\s+/)[0];
  return soft === undefined || soft === 'unlimited' ? Infinity : Number(soft) || 8 * 1024 * 1024;
}

/** Host facts for one pass; `desired` names the block devices to resolve (their io throttles). */
export function gatherFacts(host: HostReader, driver: CgroupDriver, desired: readonly DesiredContainer[] = []): HostFacts {
  const cg = driver.facts(host);
  const online = parseCpuList(host.readFile('/sys/devices/system/cpu/online') ?? '0');
  return {
    pageSize: pageSize(host),
    cpuPeriodUs: DEFAULT_CPU_PERIOD_US,
    defaultCpuset: cg.defaultCpuset,
    memswSupported: cg.memswSupported,
    cpuWeightUnit: cg.cpuWeightUnit,
    onlineCpus: 'cpus' in online ? online.cpus : [0],
    ioSupported: cg.ioSupported,
    argMax: argMaxFor(stackLimit(host)),
    blockDevices: resolveBlockDevices(host, desired),
  };
}
