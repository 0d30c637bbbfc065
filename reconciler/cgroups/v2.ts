import { fileNumber, statValue, v2IoBytes, type CgroupUsage } from './usage.js';
import { join } from 'node:path';
import { DEFAULT_CPU_PERIOD_US, type Limits } from '../limits/limits.js';
import { RuntimeError, describeError } from '../host/errors.js';
import { faultPoint } from '../host/faults.js';
import { ioMaxWrites, parseIoMax } from './io.js';
import { freshSimpleLimits, LIMIT_FILES, readSimpleLimits } from './limitFiles.js';
import type { Host, HostReader } from '../host/host.js';
import {
  CONTAINER_CGROUP_NAME,
  MONITORS_CGROUP,
  CHECK_CGROUP,
  killGroup,
  killProcsIn,
  parseMax,
  readProcs,
  removeCheckGroup,
  type CheckGroup,
  sleep,
  type CgroupDriver,
  type CgroupFacts,
  type CgroupPlacement,
} from './driver.js';

/** Leaf the controller moves itself into when it runs inside its own delegated cgroup. */
export const CONTROLLER_CGROUP = '_controller';

/** Controllers pocker enables for its subtree on cgroup v2. */
export const V2_CONTROLLERS = ['cpu', 'cpuset', 'memory', 'pids'] as const;

/** Controllers enabled wherever the parent offers them (a delegated subtree may lack io). */
export const V2_OPTIONAL = ['io'] as const;

const FRESH: Limits = {
  cpuQuotaUs: 'max',
  cpuPeriodUs: DEFAULT_CPU_PERIOD_US,
  memory: 'max',
  memsw: 'max',
  frozen: false,
  io: [],
  ...freshSimpleLimits('v2', ''),
};

/** memory.swap.max for a memsw total. */
function swapFor(l: Limits): number | 'max' {
  if (l.memsw === 'max' || l.memory === 'max') return 'max';
  return Math.max(0, l.memsw - l.memory);
}

/**
 * cgroup v2 driver: one hierarchy, controllers enabled top-down through cgroup.subtree_control
 * (no processes in inner nodes: monitors live in their own leaf), cgroup.kill for removal.
 */
export class V2Driver implements CgroupDriver {
  readonly version = 'v2' as const;
  private swap: boolean | undefined;
  private io: boolean | undefined;

  constructor(
    private readonly root: string,
    readonly parent: string,
  ) {}

  /** The parent's dir, joined once (a container's files are read per container by every observation). */
  private parentDir: string | null = null;

  private dir(name: string): string {
    this.parentDir ??= join(this.root, this.parent);
    return `${this.parentDir}/${name}`;
  }

  dirs(name: string): string[] {
    return [this.dir(name)];
  }

  placement(name: string): CgroupPlacement {
    return {
      taskFiles: [],
      cgroup2Dir: this.dir(name),
      oomFile: join(this.dir(name), 'memory.events'),
      monitorTaskFiles: [],
      monitorCgroup2Dir: this.dir(MONITORS_CGROUP),
    };
  }

  /** Swap accounting shows as memory.swap.max in every non-root cgroup with memory enabled, the parent included. */
  private swapSupported(host: HostReader): boolean {
    if (this.swap !== undefined) return this.swap;
    const parent = join(this.root, this.parent);
    if (host.kind(join(parent, 'memory.max')) !== 'file') return true;
    return (this.swap = host.kind(join(parent, 'memory.swap.max')) === 'file');
  }

  facts(host: HostReader): CgroupFacts {
    return { defaultCpuset: '', memswSupported: this.swapSupported(host), cpuWeightUnit: 'weight', ioSupported: this.ioSupported(host) };
  }

  /** The hierarchy offers the io controller: ensureParent enables it top-down like the others. */
  private ioSupported(host: HostReader): boolean {
    return (this.io ??= (host.readFile(join(this.root, 'cgroup.controllers')) ?? '').split(/\s+/).includes('io'));
  }

  ensureParent(host: Host): void {
    const segments = this.parent.split('/').filter(Boolean);
    let dir = this.root;
    for (let i = 0; i <= segments.length; i++) {
      if (i > 0) {
        dir = join(dir, segments[i - 1]!);
        if (host.kind(dir) !== 'dir') host.mkdir(dir);
      }
      const available = (host.readFile(join(dir, 'cgroup.controllers')) ?? '').split(/\s+/);
      const enabled = (host.readFile(join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      const missing = [...V2_CONTROLLERS, ...V2_OPTIONAL.filter((c) => available.includes(c))].filter((c) => !enabled.includes(c));
      const unavailable = missing.filter((c) => !available.includes(c));
      if (unavailable.length) {
        throw new RuntimeError(
          'CGROUP',
          `cgroup ${dir} does not offer controller(s) ${unavailable.join(', ')}; under systemd run pocker in a unit with Delegate=yes`,
          { path: dir },
        );
      }
      if (missing.length) {
        if (dir === this.ownCgroup(host)) this.moveSelfToLeaf(dir, host);
        const path = join(dir, 'cgroup.subtree_control');
        try {
          host.writeFile(path, missing.map((c) => `+${c}`).join(' '));
        } catch (e) {
          const busy = (e as NodeJS.ErrnoException).code === 'EBUSY';
          const hint = busy ? ' (processes live in it; cgroup v2 enables controllers only for cgroups without processes of their own)' : '';
          throw new RuntimeError('CGROUP', `enable ${missing.join(', ')} in ${path}: ${describeError(e)}${hint}`, {
            path,
            syscall: 'write',
            cause: e,
          });
        }
      }
    }
    const monitors = this.dir(MONITORS_CGROUP);
    if (host.kind(monitors) !== 'dir') host.mkdir(monitors);
  }

  /** The cgroup2 directory this process is in (from /proc/self/cgroup). */
  private ownCgroup(host: HostReader): string | null {
    const line = (host.readFile('/proc/self/cgroup') ?? '').split('\n').find((l) => l.startsWith('0::'));
    return line ? join(this.root, line.slice(3)) : null;
  }

  /**
   * Under systemd with Delegate=yes the controller runs in the very cgroup it was given to manage;
   * cgroup v2 allows controllers for children only once it holds no processes itself, so the
   * controller moves into a leaf of its own first.
   */
  private moveSelfToLeaf(dir: string, host: Host): void {
    const leaf = join(dir, CONTROLLER_CGROUP);
    if (host.kind(leaf) !== 'dir') host.mkdir(leaf);
    try {
      host.writeFile(join(leaf, 'cgroup.procs'), String(process.pid));
    } catch (e) {
      throw new RuntimeError('CGROUP', `move the controller into ${leaf}: ${describeError(e)}`, { path: leaf, syscall: 'write', cause: e });
    }
  }

  create(name: string, limits: Limits, host: Host): void {
    const d = this.dir(name);
    try {
      host.mkdir(d);
    } catch (e) {
      throw new RuntimeError('CGROUP', `create cgroup ${d}: ${describeError(e)}`, { container: name, path: d, syscall: 'mkdir', cause: e });
    }
    this.update(name, limits, FRESH, host);
  }

  private write(name: string, file: string, value: string, host: Host): void {
    const path = join(this.dir(name), file);
    try {
      faultPoint('cgroup-write', name);
      host.writeFile(path, value);
    } catch (e) {
      throw new RuntimeError('CGROUP', `write ${JSON.stringify(value)} to ${path}: ${describeError(e)}`, {
        container: name,
        path,
        syscall: 'write',
        cause: e,
      });
    }
  }

  update(name: string, want: Limits, have: Limits, host: Host): void {
    if (want.cpuQuotaUs !== have.cpuQuotaUs || want.cpuPeriodUs !== have.cpuPeriodUs) {
      this.write(name, 'cpu.max', `${want.cpuQuotaUs} ${want.cpuPeriodUs}`, host);
    }
    for (const f of LIMIT_FILES) if (want[f.key] !== have[f.key]) this.write(name, f.v2.file, f.text(want[f.key], 'v2'), host);
    if (want.frozen !== have.frozen) this.write(name, 'cgroup.freeze', want.frozen ? '1' : '0', host);
    if (want.memory !== have.memory) this.write(name, 'memory.max', String(want.memory), host);
    if (this.swapSupported(host) && swapFor(want) !== swapFor(have)) this.write(name, 'memory.swap.max', String(swapFor(want)), host);
    for (const line of ioMaxWrites(want.io, have.io)) this.write(name, 'io.max', line, host);
  }

  read(name: string, host: HostReader): Limits | null {
    const dir = `${this.dir(name)}/`;
    const file = (f: string): string | null => host.readFile(dir + f);
    const memory = parseMax(file('memory.max'));
    if (memory === null) return null;
    const [quota, period] = (file('cpu.max') ?? `max ${DEFAULT_CPU_PERIOD_US}`).trim().split(/\s+/);
    const swap = this.swapSupported(host) ? parseMax(file('memory.swap.max')) : 0;
    const memsw = memory === 'max' || swap === 'max' || swap === null ? 'max' : memory + swap;
    return {
      cpuQuotaUs: quota === 'max' ? 'max' : Number(quota),
      cpuPeriodUs: Number(period ?? DEFAULT_CPU_PERIOD_US),
      memory,
      memsw,
      ...readSimpleLimits('v2', (f) => file(f.v2.file)),
      frozen: file('cgroup.freeze')?.trim() === '1',
      io: parseIoMax(file('io.max') ?? ''),
    };
  }

  usage(name: string, host: HostReader): CgroupUsage | null {
    const dir = `${this.dir(name)}/`;
    const file = (f: string): string | null => host.readFile(dir + f);
    const memoryBytes = fileNumber(file('memory.current'));
    if (memoryBytes === null) return null;
    const io = v2IoBytes(file('io.stat'));
    const cpuStat = file('cpu.stat');
    return {
      cpuNs: (statValue(cpuStat, 'usage_usec') ?? 0) * 1000,
      cpuPeriods: statValue(cpuStat, 'nr_periods') ?? 0,
      cpuThrottledPeriods: statValue(cpuStat, 'nr_throttled') ?? 0,
      cpuThrottledNs: (statValue(cpuStat, 'throttled_usec') ?? 0) * 1000,
      oomKills: statValue(file('memory.events'), 'oom_kill') ?? 0,
      memoryBytes,
      swapBytes: this.swapSupported(host) ? fileNumber(file('memory.swap.current')) : null,
      inactiveFileBytes: statValue(file('memory.stat'), 'inactive_file') ?? 0,
      pids: fileNumber(file('pids.current')) ?? 0,
      ioReadBytes: io.read,
      ioWriteBytes: io.write,
    };
  }

  async checkGroup(name: string, host: Host): Promise<CheckGroup> {
    const dir = join(this.dir(name), CHECK_CGROUP);
    await killGroup(dir, host);
    host.mkdir(dir);
    return { placement: { ...this.placement(name), cgroup2Dir: dir }, kill: () => killGroup(dir, host) };
  }

  async remove(name: string, host: Host): Promise<void> {
    const d = this.dir(name);
    if (host.kind(d) !== 'dir') return;
    await removeCheckGroup(d, host);
    for (let attempt = 0; host.kind(d) === 'dir'; attempt++) {
      try {
        host.rmdir(d);
        return;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 200) {
          throw new RuntimeError('CGROUP', `remove cgroup ${d}: ${describeError(e)}`, {
            container: name,
            path: d,
            syscall: 'rmdir',
            cause: e,
          });
        }
      }
      if (host.kind(join(d, 'cgroup.kill')) === 'file') host.writeFile(join(d, 'cgroup.kill'), '1');
      else killProcsIn([join(d, 'cgroup.procs')], host);
      await sleep(10);
    }
  }

  procs(name: string, host: HostReader): number[] {
    return readProcs(host, join(this.dir(name), 'cgroup.procs'));
  }

  list(host: HostReader): string[] {
    return (host.readSubdirs(join(this.root, this.parent)) ?? []).filter((n) => CONTAINER_CGROUP_NAME.test(n));
  }

  removeParentIfEmpty(host: Host): void {
    if (this.list(host).length) return;
    try {
      host.rmdir(this.dir(MONITORS_CGROUP));
      host.rmdir(join(this.root, this.parent));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY' && (e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
    }
  }
}
