import type { TestInstance } from './instance.js';

/** Raw limit files of a container's cgroups, read straight from cgroupfs (v1 or v2 names). */
export interface RawLimits {
  /** v1: "quota period" from cpu.cfs_quota_us/cfs_period_us; v2: cpu.max. */
  cpu: string;
  cpuset: string;
  memory: string;
  /** v1: memory.memsw.limit_in_bytes; v2: memory.swap.max (memsw - memory). */
  swapOrMemsw: string;
  pids: string;
  /** v1: cpu.shares; v2: cpu.weight. */
  cpuWeight: string;
}

export function rawLimits(inst: TestInstance, name: string): RawLimits {
  const f = (c: string, file: string): string => inst.cgroupFile(name, c, file);
  if (inst.driver.version === 'v2') {
    return {
      cpu: f('cpu', 'cpu.max'),
      cpuset: f('cpuset', 'cpuset.cpus'),
      memory: f('memory', 'memory.max'),
      swapOrMemsw: f('memory', 'memory.swap.max'),
      pids: f('pids', 'pids.max'),
      cpuWeight: f('cpu', 'cpu.weight'),
    };
  }
  return {
    cpu: `${f('cpu', 'cpu.cfs_quota_us')} ${f('cpu', 'cpu.cfs_period_us')}`,
    cpuset: f('cpuset', 'cpuset.cpus'),
    memory: f('memory', 'memory.limit_in_bytes'),
    swapOrMemsw: f('memory', 'memory.memsw.limit_in_bytes'),
    pids: f('pids', 'pids.max'),
    cpuWeight: f('cpu', 'cpu.shares'),
  };
}

/** CPU time used by the container so far, in microseconds. */
export function cpuUsageUs(inst: TestInstance, name: string): number {
  if (inst.driver.version === 'v2') return Number(/usage_usec (\d+)/.exec(inst.cgroupFile(name, 'cpu', 'cpu.stat'))![1]);
  return Number(inst.cgroupFile(name, 'cpuacct', 'cpuacct.usage')) / 1000;
}

/** A counter from a "key value" cgroup file (cpu.stat, pids.events, memory.events, memory.oom_control). */
export function counter(inst: TestInstance, name: string, controller: string, file: string, key: string): number {
  const m = new RegExp(`^${key} (\\d+)$`, 'm').exec(inst.cgroupFile(name, controller, file));
  return m ? Number(m[1]) : NaN;
}

/** Swap charged to the container, in bytes. */
export function swapBytes(inst: TestInstance, name: string): number {
  if (inst.driver.version === 'v2') return Number(inst.cgroupFile(name, 'memory', 'memory.swap.current'));
  return counter(inst, name, 'memory', 'memory.stat', 'swap');
}

/** File and key of the OOM-kill counter. */
export function oomKills(inst: TestInstance, name: string): number {
  return inst.driver.version === 'v2'
    ? counter(inst, name, 'memory', 'memory.events', 'oom_kill')
    : counter(inst, name, 'memory', 'memory.oom_control', 'oom_kill');
}
