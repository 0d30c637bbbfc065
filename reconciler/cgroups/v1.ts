import { fileNumber, statValue, v1IoBytes, type CgroupUsage } from './usage.js';
import { join } from 'node:path';
import { canonicalCpuList } from '../spec/cpuset.js';
import { DEFAULT_CPU_PERIOD_US, type Limits } from '../limits/limits.js';
import { RuntimeError, describeError } from '../host/errors.js';
import { faultPoint } from '../host/faults.js';
import { parseV1Throttles, V1_IO_FILES, v1ThrottleWrites } from './io.js';
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
  type CgroupVersion,
} from './driver.js';

/**
 * v1 controllers pocker uses. The optional ones are joined when mounted: cpuacct (accounting),
 * devices, blkio (I/O throttles; every container gets a blkio cgroup, so throttles can be added
 * to a running container in place without moving its processes).
 */
export const V1_REQUIRED = ['cpu', 'cpuset', 'memory', 'pids'] as const;
export const V1_OPTIONAL = ['cpuacct', 'devices', 'blkio'] as const;

/** Limits of a freshly created v1 cgroup (cpuset copied from the parent by clone_children). */
function freshLimits(defaultCpuset: string): Limits {
  return {
    cpuQuotaUs: 'max',
    cpuPeriodUs: DEFAULT_CPU_PERIOD_US,
    memory: 'max',
    memsw: 'max',
    frozen: false,
    io: [],
    ...freshSimpleLimits('v1', defaultCpuset),
  };
}

const num = (v: number | 'max'): number => (v === 'max' ? Infinity : v);

/**
 * cgroup v1 driver; with `unified` set it is the hybrid driver: the init is also cloned into a
 * controller-less cgroup2 directory, which gives race-free membership and cgroup.kill.
 */
export class V1Driver implements CgroupDriver {
  readonly version: CgroupVersion;
  private readonly hierarchies: string[];
  private memsw: boolean | undefined;
  private io: boolean | undefined;

  constructor(
    private readonly mounts: Map<string, string>,
    readonly parent: string,
    private readonly unified: string | null,
  ) {
    this.version = unified ? 'hybrid' : 'v1';
    const wanted = [...V1_REQUIRED, ...V1_OPTIONAL].map((c) => mounts.get(c)).filter((m): m is string => !!m);
    this.hierarchies = [...new Set(wanted)];
  }

  private ctrl(controller: string, name: string): string {
    return join(this.mounts.get(controller)!, this.parent, name);
  }

  /** The parent's dir in each mounted controller, joined once (limits and usage are read per container by every ps and scrape). */
  private parentDirs: Map<string, string> | null = null;

  /** A control file's text; null when it or its controller is missing. */
  private readControl(host: HostReader, controller: string, name: string, file: string): string | null {
    const path = this.controlFile(controller, name, file);
    return path === undefined ? null : host.readFile(path);
  }

  /** A control file of a container's cgroup in a controller's hierarchy; undefined when that controller is not mounted. */
  private controlFile(controller: string, name: string, file: string): string | undefined {
    this.parentDirs ??= new Map([...this.mounts].map(([c, m]) => [c, join(m, this.parent)]));
    const d = this.parentDirs.get(controller);
    return d === undefined ? undefined : `${d}/${name}/${file}`;
  }

  private unifiedParent: string | null = null;

  private unifiedDir(name: string): string | null {
    if (!this.unified) return null;
    this.unifiedParent ??= join(this.unified, this.parent);
    return `${this.unifiedParent}/${name}`;
  }

  dirs(name: string): string[] {
    const out = this.hierarchies.map((h) => join(h, this.parent, name));
    const u = this.unifiedDir(name);
    return u ? [...out, u] : out;
  }

  placement(name: string): CgroupPlacement {
    const u = this.unifiedDir(name);
    const mu = this.unifiedDir(MONITORS_CGROUP);
    return {
      taskFiles: this.hierarchies.map((h) => join(h, this.parent, name, 'tasks')),
      ...(u ? { cgroup2Dir: u } : {}),
      oomFile: join(this.ctrl('memory', name), 'memory.oom_control'),
      monitorTaskFiles: this.hierarchies.map((h) => join(h, this.parent, MONITORS_CGROUP, 'tasks')),
      ...(mu ? { monitorCgroup2Dir: mu } : {}),
    };
  }

  facts(host: HostReader): CgroupFacts {
    const parentCpus = host.readFile(join(this.mounts.get('cpuset')!, this.parent, 'cpuset.cpus'));
    const rootCpus = host.readFile(join(this.mounts.get('cpuset')!, 'cpuset.cpus')) ?? '';
    return {
      defaultCpuset: canonicalCpuList(parentCpus && parentCpus.trim() ? parentCpus : rootCpus),
      memswSupported: this.memswSupported(host),
      cpuWeightUnit: 'shares',
      ioSupported: this.ioSupported(host),
    };
  }

  /** blkio is mounted and has the throttle files (CONFIG_BLK_DEV_THROTTLING). */
  private ioSupported(host: HostReader): boolean {
    const root = this.mounts.get('blkio');
    return (this.io ??= !!root && host.kind(join(root, V1_IO_FILES.rbps)) === 'file');
  }

  private memswSupported(host: HostReader): boolean {
    return (this.memsw ??= host.kind(join(this.mounts.get('memory')!, 'memory.memsw.limit_in_bytes')) === 'file');
  }

  ensureParent(host: Host): void {
    const cpusetRoot = this.mounts.get('cpuset')!;
    const segments = this.parent.split('/').filter(Boolean);
    // cpuset: every new level starts with empty cpus/mems; copy them down and let children inherit.
    let dir = cpusetRoot;
    for (const seg of segments) {
      const child = join(dir, seg);
      if (host.kind(child) !== 'dir') host.mkdir(child);
      for (const f of ['cpuset.cpus', 'cpuset.mems']) {
        if (!(host.readFile(join(child, f)) ?? '').trim())
          host.writeFile(join(child, f), (host.readFile(join(dir, f)) ?? '').trim() || '0');
      }
      if ((host.readFile(join(child, 'cgroup.clone_children')) ?? '').trim() !== '1')
        host.writeFile(join(child, 'cgroup.clone_children'), '1');
      dir = child;
    }
    for (const h of this.hierarchies) if (h !== cpusetRoot && host.kind(join(h, this.parent)) !== 'dir') host.mkdir(join(h, this.parent));
    if (this.unified && host.kind(join(this.unified, this.parent)) !== 'dir') host.mkdir(join(this.unified, this.parent));
    for (const d of this.dirs(MONITORS_CGROUP)) if (host.kind(d) !== 'dir') host.mkdir(d);
  }

  create(name: string, limits: Limits, host: Host, deviceRules?: readonly string[] | null): void {
    for (const d of this.dirs(name)) {
      try {
        host.mkdir(d);
      } catch (e) {
        throw new RuntimeError('CGROUP', `create cgroup ${d}: ${describeError(e)}`, {
          container: name,
          path: d,
          syscall: 'mkdir',
          cause: e,
        });
      }
    }
    this.update(name, limits, freshLimits(this.facts(host).defaultCpuset), host);
    if (deviceRules && this.mounts.has('devices')) {
      this.write(name, 'devices', 'devices.deny', 'a', host);
      for (const rule of deviceRules) this.write(name, 'devices', 'devices.allow', rule, host);
    }
  }

  /**
   * Freezes or thaws through the controller-less cgroup2 directory of the hybrid layout (every
   * process of the container is in it): cgroup2's freezer also lets a fatal signal through to a
   * frozen task, v1's freezer.state does not. A pure v1 host has no way to pause here.
   */
  private freeze(name: string, frozen: boolean, host: Host): void {
    const dir = this.unifiedDir(name);
    if (!dir)
      throw new RuntimeError(
        'CGROUP',
        'pausing needs the cgroup2 freezer (a hybrid or pure cgroup v2 host); this cgroup v1 host has none',
        { container: name },
      );
    const path = join(dir, 'cgroup.freeze');
    try {
      host.writeFile(path, frozen ? '1' : '0');
    } catch (e) {
      throw new RuntimeError('CGROUP', `write ${frozen ? 1 : 0} to ${path}: ${describeError(e)}`, {
        container: name,
        path,
        syscall: 'write',
        cause: e,
      });
    }
  }

  private write(name: string, controller: string, file: string, value: string, host: Host): void {
    const path = join(this.ctrl(controller, name), file);
    try {
      faultPoint('cgroup-write', name);
      host.writeFile(path, value);
    } catch (e) {
      throw new RuntimeError('CGROUP', `write ${value} to ${path}: ${describeError(e)}`, {
        container: name,
        path,
        syscall: 'write',
        cause: e,
      });
    }
  }

  update(name: string, want: Limits, have: Limits, host: Host): void {
    if (want.cpuPeriodUs !== have.cpuPeriodUs) this.write(name, 'cpu', 'cpu.cfs_period_us', String(want.cpuPeriodUs), host);
    if (want.cpuQuotaUs !== have.cpuQuotaUs || want.cpuPeriodUs !== have.cpuPeriodUs) {
      this.write(name, 'cpu', 'cpu.cfs_quota_us', want.cpuQuotaUs === 'max' ? '-1' : String(want.cpuQuotaUs), host);
    }
    for (const f of LIMIT_FILES)
      if (want[f.key] !== have[f.key]) this.write(name, f.v1.controller, f.v1.file, f.text(want[f.key], 'v1'), host);
    if (want.frozen !== have.frozen) this.freeze(name, want.frozen, host);
    const memSw = (): void => {
      if (want.memsw !== have.memsw && this.memswSupported(host)) {
        this.write(name, 'memory', 'memory.memsw.limit_in_bytes', want.memsw === 'max' ? '-1' : String(want.memsw), host);
      }
    };
    const mem = (): void => {
      if (want.memory !== have.memory)
        this.write(name, 'memory', 'memory.limit_in_bytes', want.memory === 'max' ? '-1' : String(want.memory), host);
    };
    // memsw >= memory must hold after every write: raise memsw first, lower memory first.
    if (num(want.memsw) >= num(have.memory)) {
      memSw();
      mem();
    } else {
      mem();
      memSw();
    }
    for (const w of v1ThrottleWrites(want.io, have.io)) this.write(name, 'blkio', w.file, w.value, host);
  }

  read(name: string, host: HostReader): Limits | null {
    const file = (c: string, f: string): string | null => this.readControl(host, c, name, f);
    const memory = parseMax(file('memory', 'memory.limit_in_bytes'));
    if (memory === null) return null;
    const unified = this.unifiedDir(name);
    const memsw = this.memswSupported(host) ? parseMax(file('memory', 'memory.memsw.limit_in_bytes')) : memory;
    return {
      cpuQuotaUs: parseMax(file('cpu', 'cpu.cfs_quota_us')) ?? 'max',
      cpuPeriodUs: Number(file('cpu', 'cpu.cfs_period_us') ?? DEFAULT_CPU_PERIOD_US),
      memory,
      memsw: memsw ?? 'max',
      ...readSimpleLimits('v1', (f) => file(f.v1.controller, f.v1.file)),
      frozen: (unified !== null && host.readFile(`${unified}/cgroup.freeze`)?.trim()) === '1',
      io: this.mounts.has('blkio')
        ? parseV1Throttles({
            rbps: file('blkio', V1_IO_FILES.rbps),
            wbps: file('blkio', V1_IO_FILES.wbps),
            riops: file('blkio', V1_IO_FILES.riops),
            wiops: file('blkio', V1_IO_FILES.wiops),
          })
        : [],
    };
  }

  usage(name: string, host: HostReader): CgroupUsage | null {
    const file = (c: string, f: string): string | null => this.readControl(host, c, name, f);
    const memoryBytes = fileNumber(file('memory', 'memory.usage_in_bytes'));
    if (memoryBytes === null) return null;
    const memsw = this.memswSupported(host) ? fileNumber(file('memory', 'memory.memsw.usage_in_bytes')) : null;
    const stat = file('memory', 'memory.stat');
    const io = v1IoBytes(file('blkio', 'blkio.throttle.io_service_bytes'));
    const cpuStat = file('cpu', 'cpu.stat');
    return {
      cpuNs: fileNumber(file('cpuacct', 'cpuacct.usage')) ?? 0,
      cpuPeriods: statValue(cpuStat, 'nr_periods') ?? 0,
      cpuThrottledPeriods: statValue(cpuStat, 'nr_throttled') ?? 0,
      cpuThrottledNs: statValue(cpuStat, 'throttled_time') ?? 0,
      oomKills: statValue(file('memory', 'memory.oom_control'), 'oom_kill') ?? 0,
      memoryBytes,
      swapBytes: memsw === null ? null : Math.max(0, memsw - memoryBytes),
      inactiveFileBytes: statValue(stat, 'total_inactive_file') ?? statValue(stat, 'inactive_file') ?? 0,
      pids: fileNumber(file('pids', 'pids.current')) ?? 0,
      ioReadBytes: io.read,
      ioWriteBytes: io.write,
    };
  }

  /**
   * The check group is a child of the container's cgroup2 dir (hybrid: cgroup.kill there) or, on a
   * pure v1 host, of its pids cgroup; the command still joins the container's other hierarchies.
   */
  async checkGroup(name: string, host: Host): Promise<CheckGroup> {
    const u = this.unifiedDir(name);
    const base = this.placement(name);
    const membership = u ?? this.ctrl('pids', name);
    const dir = join(membership, CHECK_CGROUP);
    await killGroup(dir, host);
    host.mkdir(dir);
    const placement = u
      ? { ...base, cgroup2Dir: dir }
      : { ...base, taskFiles: base.taskFiles.map((f) => (f === join(membership, 'tasks') ? join(dir, 'tasks') : f)) };
    return { placement, kill: () => killGroup(dir, host) };
  }

  async remove(name: string, host: Host): Promise<void> {
    const dirs = this.dirs(name).filter((d) => host.kind(d) === 'dir');
    for (const d of dirs) await removeCheckGroup(d, host);
    const unified = this.unifiedDir(name);
    for (let attempt = 0; dirs.length; attempt++) {
      for (let i = dirs.length - 1; i >= 0; i--) {
        try {
          host.rmdir(dirs[i]!);
          dirs.splice(i, 1);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EBUSY' || attempt >= 200) {
            throw new RuntimeError('CGROUP', `remove cgroup ${dirs[i]}: ${describeError(e)}`, {
              container: name,
              path: dirs[i],
              syscall: 'rmdir',
              cause: e,
            });
          }
        }
      }
      if (!dirs.length) break;
      if (unified && host.kind(join(unified, 'cgroup.kill')) === 'file' && dirs.includes(unified))
        host.writeFile(join(unified, 'cgroup.kill'), '1');
      killProcsIn(
        dirs.map((d) => join(d, 'cgroup.procs')),
        host,
      );
      await sleep(10);
    }
  }

  procs(name: string, host: HostReader): number[] {
    const u = this.unifiedDir(name);
    return readProcs(host, join(u ?? this.ctrl('memory', name), 'cgroup.procs'));
  }

  list(host: HostReader): string[] {
    return (host.readSubdirs(join(this.mounts.get('memory')!, this.parent)) ?? []).filter((n) => CONTAINER_CGROUP_NAME.test(n));
  }

  removeParentIfEmpty(host: Host): void {
    if (this.list(host).length) return;
    const tops = [...this.hierarchies, ...(this.unified ? [this.unified] : [])];
    try {
      for (const h of tops) host.rmdir(join(h, this.parent, MONITORS_CGROUP));
      for (const h of tops) host.rmdir(join(h, this.parent));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EBUSY' && (e as NodeJS.ErrnoException).code !== 'ENOTEMPTY') throw e;
    }
  }
}
