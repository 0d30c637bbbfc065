import { DEFAULT_POOL_LINE } from '../../reconciler/state/userns.js';
import { posix } from 'node:path';
import {
  mountPointsUnder,
  type ChangeStamp,
  type DeviceNode,
  type Host,
  type MonitorStart,
  type ProcessRef,
} from '../../reconciler/host/host.js';
import { LIMIT_FILES } from '../../reconciler/cgroups/limitFiles.js';
import type { ExecResult } from '../../reconciler/host/execProcess.js';
import type { NetProbeResult } from '../../reconciler/host/netProbe.js';
import { FakeCni, FakeFirewall, FakeNetAdmin, type FakeNetworkHost } from './fakeNetwork.js';

type Node = { type: 'dir' } | { type: 'file'; data: string };

const PAGE = 4096;
const V1_UNLIMITED = '9223372036854771712';
const ONLINE = '0-3';

function errno(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} ${path}`), { code, syscall, path });
}

/** CPU list canonicalization as the kernel prints it. */
function canonCpus(text: string): string | null {
  const cpus = new Set<number>();
  for (const part of text.trim().split(',').filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return null;
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) cpus.add(c);
  }
  const sorted = [...cpus].sort((a, b) => a - b);
  if (sorted.some((c) => c > 3)) return null;
  const out: string[] = [];
  for (let i = 0; i < sorted.length;) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    out.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return out.join(',');
}

interface FakeProc {
  pid: number;
  start: number;
  alive: boolean;
  cgroupDirs: string[];
  stateDir?: string;
  /** Where the monitor records the init's exit. */
  exitFile?: string;
  role: 'monitor' | 'init';
}

/**
 * An in-memory host that behaves like the kernel where pocker depends on it: cgroupfs files
 * appear on mkdir with the kernel's defaults, limits round down to pages, v1 refuses
 * memsw < memory (EINVAL) and rmdir of a populated cgroup (EBUSY), v2 needs controllers enabled
 * in the parent's subtree_control. "Processes" started by startMonitor live until signalled.
 */
export class FakeHost implements Host, FakeNetworkHost {
  private nodes = new Map<string, Node>();
  /** The nat table and links. */
  readonly net: FakeNetAdmin = new FakeNetAdmin(this);
  /** The bridge, host-local and portmap plugins. */
  readonly cni: FakeCni = new FakeCni(this, this.net);
  /** nftables inside the pinned namespaces. */
  readonly firewall: FakeFirewall = new FakeFirewall();
  /** Pinned network namespaces, and the links that live or end in each (a link goes with its namespace). */
  private linkOwners = new Map<string, string | null>();
  private procs = new Map<number, FakeProc>();
  private nextPid = 1000;
  /** Make the next n startMonitor calls report this error. */
  failStarts: { count: number; message: string } = { count: 0, message: '' };
  /** Device nodes by path (deviceNode); block devices here are the ones io.max accepts. */
  devices = new Map<string, DeviceNode>();
  /** The boot id the fake kernel reports (change it to simulate a reboot). */
  boot = 'fake-boot-1';

  constructor(readonly version: 'v1' | 'v2') {
    this.mkdir('/proc/self');
    // A host set up by scripts/setup.sh: the pool of userns: auto.
    this.mkdir('/etc');
    this.put('/etc/subuid', `${DEFAULT_POOL_LINE}\n`);
    this.put('/etc/subgid', `${DEFAULT_POOL_LINE}\n`);
    this.mkdir('/sys/devices/system/cpu');
    this.put('/sys/devices/system/cpu/online', `${ONLINE}\n`);
    if (version === 'v1') {
      const lines = ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio'].map(
        (c, i) => `${30 + i} 25 0:${30 + i} / /sys/fs/cgroup/${c} rw,relatime - cgroup cgroup rw,${c}`,
      );
      lines.push('40 25 0:40 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw');
      this.put('/proc/self/mountinfo', `${lines.join('\n')}\n`);
      for (const c of ['cpu', 'cpuacct', 'cpuset', 'memory', 'pids', 'blkio']) this.makeCgroup(`/sys/fs/cgroup/${c}`, c, true);
      this.makeCgroup('/sys/fs/cgroup/unified', 'unified', true);
    } else {
      this.put('/proc/self/mountinfo', '30 25 0:30 / /sys/fs/cgroup rw,relatime - cgroup2 cgroup2 rw\n');
      this.makeCgroup('/sys/fs/cgroup', 'v2', true);
    }
  }

  private put(path: string, data: string): void {
    this.nodes.set(path, { type: 'file', data });
  }

  private hierarchyOf(path: string): string | null {
    if (this.version === 'v2') return path === '/sys/fs/cgroup' || path.startsWith('/sys/fs/cgroup/') ? 'v2' : null;
    const m = /^\/sys\/fs\/cgroup\/([a-z]+)(\/|$)/.exec(path);
    return m ? m[1]! : null;
  }

  private makeCgroup(dir: string, h: string, root = false): void {
    this.nodes.set(dir, { type: 'dir' });
    const f = (name: string, v: string): void => this.put(`${dir}/${name}`, v);
    f('cgroup.procs', '');
    const parent = posix.dirname(dir);
    switch (h) {
      case 'cpu':
        f('cpu.cfs_quota_us', '-1\n');
        f('cpu.cfs_period_us', '100000\n');
        f('cpu.stat', 'nr_periods 0\nnr_throttled 0\nthrottled_time 0\n');
        break;
      case 'cpuset': {
        const inherit = !root && this.readFile(`${parent}/cgroup.clone_children`)?.trim() === '1';
        f('cpuset.cpus', root ? `${ONLINE}\n` : inherit ? this.readFile(`${parent}/cpuset.cpus`)! : '\n');
        f('cpuset.mems', root ? '0\n' : inherit ? this.readFile(`${parent}/cpuset.mems`)! : '\n');
        f('cgroup.clone_children', '0\n');
        break;
      }
      case 'memory':
        f('memory.limit_in_bytes', `${V1_UNLIMITED}\n`);
        f('memory.memsw.limit_in_bytes', `${V1_UNLIMITED}\n`);
        f('memory.oom_control', 'oom_kill_disable 0\nunder_oom 0\noom_kill 0\n');
        break;
      case 'blkio':
        for (const t of ['read_bps', 'write_bps', 'read_iops', 'write_iops']) f(`blkio.throttle.${t}_device`, '');
        break;
      case 'pids':
        f('pids.max', 'max\n');
        break;
      case 'unified':
        if (!root) f('cgroup.kill', '');
        break;
      case 'v2': {
        const enabled = root
          ? ['cpuset', 'cpu', 'io', 'memory', 'pids']
          : (this.readFile(`${parent}/cgroup.subtree_control`) ?? '').trim().split(/\s+/).filter(Boolean);
        f('cgroup.controllers', `${enabled.join(' ')}\n`);
        f('cgroup.subtree_control', '\n');
        if (!root) {
          f('cgroup.kill', '');
          if (enabled.includes('cpu')) f('cpu.max', 'max 100000\n');
          if (enabled.includes('cpuset')) f('cpuset.cpus', '\n');
          if (enabled.includes('memory')) {
            f('memory.max', 'max\n');
            f('memory.swap.max', 'max\n');
            f('memory.events', 'low 0\nhigh 0\nmax 0\noom 0\noom_kill 0\n');
          }
          if (enabled.includes('pids')) f('pids.max', 'max\n');
          if (enabled.includes('io')) f('io.max', '');
        }
        break;
      }
    }
    // Every simple limit file the drivers know (those without a case above hold what is written).
    if (root) return;
    const enabled = h === 'v2' ? (this.readFile(`${dir}/cgroup.controllers`) ?? '').split(/\s+/) : [h];
    for (const l of LIMIT_FILES) {
      const at = h === 'v2' ? l.v2 : l.v1;
      const version = h === 'v2' ? 'v2' : 'v1';
      if (enabled.includes(at.controller) && !this.nodes.has(`${dir}/${at.file}`))
        f(at.file, `${l.text(l.fresh(version, ''), version).trim()}\n`);
    }
  }

  private cgroupWrite(path: string, data: string): void {
    const dir = posix.dirname(path);
    const file = posix.basename(path);
    const cur = (name: string): string => this.readFile(`${dir}/${name}`)!.trim();
    const bytes = (v: string): number => (v === '-1' || v === 'max' ? Infinity : Math.floor(Number(v) / PAGE) * PAGE);
    const inval = (): never => {
      throw errno('EINVAL', 'write', path);
    };
    const v = data.trim();
    switch (file) {
      case 'cgroup.procs': {
        const pid = Number(v === '0' ? NaN : v);
        if (!this.procs.has(pid)) throw errno('ESRCH', 'write', path);
        this.put(path, `${cur('cgroup.procs')}\n${pid}`.trim() + '\n');
        return;
      }
      case 'memory.limit_in_bytes':
      case 'memory.memsw.limit_in_bytes': {
        if (!/^(-1|\d+)$/.test(v)) inval();
        const other = file === 'memory.limit_in_bytes' ? 'memory.memsw.limit_in_bytes' : 'memory.limit_in_bytes';
        const mine = bytes(v);
        const theirs = bytes(cur(other) === V1_UNLIMITED ? '-1' : cur(other));
        if (file === 'memory.limit_in_bytes' ? mine > theirs : mine < theirs) inval();
        this.put(path, `${mine === Infinity ? V1_UNLIMITED : mine}\n`);
        return;
      }
      case 'cpu.cfs_quota_us':
        if (!/^(-1|\d+)$/.test(v) || (v !== '-1' && Number(v) < 1000)) inval();
        this.put(path, `${v}\n`);
        return;
      case 'cpu.cfs_period_us':
        if (!/^\d+$/.test(v) || Number(v) < 1000 || Number(v) > 1_000_000) inval();
        this.put(path, `${v}\n`);
        return;
      case 'cpuset.cpus': {
        const c = canonCpus(v);
        if (c === null || (c === '' && this.version === 'v1')) inval();
        this.put(path, `${c}\n`);
        return;
      }
      case 'cpuset.mems':
      case 'cgroup.clone_children':
        this.put(path, `${v}\n`);
        return;
      case 'blkio.throttle.read_bps_device':
      case 'blkio.throttle.write_bps_device':
      case 'blkio.throttle.read_iops_device':
      case 'blkio.throttle.write_iops_device': {
        const m = /^(\d+:\d+) (\d+)$/.exec(v);
        if (!m) inval();
        if (![...this.devices.values()].some((d) => d.kind === 'block' && `${d.major}:${d.minor}` === m![1]))
          throw errno('ENODEV', 'write', path);
        const lines = new Map(
          cur(file)
            .split('\n')
            .filter(Boolean)
            .map((l) => [l.split(' ')[0]!, l]),
        );
        if (m![2] === '0') lines.delete(m![1]!);
        else lines.set(m![1]!, v);
        this.put(path, [...lines.values()].map((l) => `${l}\n`).join(''));
        return;
      }
      case 'pids.max':
        if (!/^(max|\d+)$/.test(v)) inval();
        this.put(path, `${v}\n`);
        return;
      case 'memory.max':
      case 'memory.swap.max':
        if (!/^(max|\d+)$/.test(v)) inval();
        this.put(path, `${v === 'max' ? 'max' : Math.floor(Number(v) / PAGE) * PAGE}\n`);
        return;
      case 'cpu.max': {
        const m = /^(max|\d+)(?: (\d+))?$/.exec(v);
        if (!m || (m[1] !== 'max' && Number(m[1]) < 1000)) inval();
        this.put(path, `${m![1]} ${m![2] ?? 100000}\n`);
        return;
      }
      case 'io.max': {
        const m = /^(\d+:\d+)((?: [rw](?:bps|iops)=(?:max|\d+))+)$/.exec(v);
        const known = [...this.devices.values()].some((d) => d.kind === 'block' && `${d.major}:${d.minor}` === m?.[1]);
        if (!m || /=[01](?: |$)/.test(m[2]!)) inval();
        if (!known) throw errno('ENODEV', 'write', path);
        const lines = new Map(
          cur('io.max')
            .split('\n')
            .filter(Boolean)
            .map((l) => [l.split(' ')[0]!, l]),
        );
        const entry = new Map(
          (lines.get(m![1]!) ?? `${m![1]} rbps=max wbps=max riops=max wiops=max`)
            .split(' ')
            .slice(1)
            .map((t) => t.split('=') as [string, string]),
        );
        for (const t of m![2]!.trim().split(' ')) entry.set(t.split('=')[0]!, t.split('=')[1]!);
        const line = `${m![1]} ${['rbps', 'wbps', 'riops', 'wiops'].map((k) => `${k}=${entry.get(k)}`).join(' ')}`;
        if (line.endsWith('rbps=max wbps=max riops=max wiops=max')) lines.delete(m![1]!);
        else lines.set(m![1]!, line);
        this.put(path, [...lines.values()].map((l) => `${l}\n`).join(''));
        return;
      }
      case 'cgroup.subtree_control': {
        const have = new Set(cur('cgroup.subtree_control').split(/\s+/).filter(Boolean));
        const avail = cur('cgroup.controllers').split(/\s+/);
        for (const tok of v.split(/\s+/)) {
          const c = tok.slice(1);
          if (!avail.includes(c)) inval();
          if (tok[0] === '+') have.add(c);
          else have.delete(c);
        }
        this.put(path, `${[...have].join(' ')}\n`);
        return;
      }
      case 'cgroup.kill':
        for (const pid of cur('cgroup.procs').split('\n').filter(Boolean).map(Number)) this.exit(pid, 9);
        return;
      default:
        if (!LIMIT_FILES.some((l) => (this.version === 'v2' ? l.v2.file : l.v1.file) === file)) throw errno('EACCES', 'write', path);
        this.put(path, `${v}\n`);
        return;
    }
  }

  /** Marks a fake process dead; an init's exit is recorded the way the monitor would. */
  exit(pid: number, signal: number, code = -1): void {
    const p = this.procs.get(pid);
    if (!p || !p.alive) return;
    p.alive = false;
    const notify = (q: number): void => {
      for (const cb of this.exitWatchers.get(q) ?? []) setImmediate(cb);
      this.exitWatchers.delete(q);
    };
    notify(pid);
    for (const d of p.cgroupDirs) {
      const f = `${d}/cgroup.procs`;
      const left = (this.readFile(f) ?? '').split('\n').filter((x) => x && Number(x) !== pid);
      if (this.nodes.has(f)) this.put(f, left.length ? `${left.join('\n')}\n` : '');
    }
    if (p.role === 'init' && p.exitFile && this.nodes.has(posix.dirname(p.exitFile))) {
      this.put(
        p.exitFile,
        JSON.stringify({ exitCode: signal ? -1 : code, signal, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 }),
      );
      const monitor = [...this.procs.values()].find((m) => m.role === 'monitor' && m.stateDir === p.stateDir && m.alive);
      if (monitor) {
        monitor.alive = false;
        notify(monitor.pid);
      }
    }
  }

  /** Live fake init pids. */
  liveInits(): number[] {
    return [...this.procs.values()].filter((p) => p.role === 'init' && p.alive).map((p) => p.pid);
  }

  // HostReader
  readFile(path: string): string | null {
    const n = this.nodes.get(path);
    return n && n.type === 'file' ? n.data : null;
  }
  readBytes(path: string): Buffer | null {
    const text = this.readFile(path);
    return text === null ? null : Buffer.from(text, 'latin1');
  }
  readDir(path: string): string[] | null {
    const n = this.nodes.get(path);
    if (!n || n.type !== 'dir') return null;
    const prefix = `${path}/`;
    return [...this.nodes.keys()]
      .filter((k) => k.startsWith(prefix) && !k.slice(prefix.length).includes('/'))
      .map((k) => k.slice(prefix.length));
  }
  readSubdirs(path: string): string[] | null {
    return this.readDir(path)?.filter((e) => this.kind(`${path}/${e}`) === 'dir') ?? null;
  }
  kind(path: string): 'dir' | 'file' | 'other' | null {
    const n = this.nodes.get(path);
    if (n) return n.type;
    return path.startsWith('/layers/') ? 'dir' : null;
  }
  lkind(path: string): 'dir' | 'file' | 'symlink' | 'other' | null {
    if (/^\/layers\/[^/]+\/(usr\/)?bin\/[a-z]+$/.test(path)) return 'file';
    if (/^\/layers\/[^/]+(\/usr)?(\/bin)?$/.test(path)) return 'dir';
    return this.kind(path);
  }
  deviceNode(path: string): DeviceNode | 'other' | null {
    return this.devices.get(path) ?? (this.nodes.has(path) ? 'other' : null);
  }
  procStartTime(pid: number): number | null {
    const p = this.procs.get(pid);
    return p && p.alive ? p.start : null;
  }
  /** Mount points made by mountTmpfs (and not unmounted since). */
  readonly mounts = new Set<string>();
  mountsUnder(dir: string): string[] {
    return mountPointsUnder([...this.mounts].map((m) => `0 0 0:0 / ${m} rw - tmpfs tmpfs rw`).join('\n'), dir);
  }
  bootId(): string {
    return this.boot;
  }
  /** Modes set by chmod (everything else reads as 0700 root). */
  private modes = new Map<string, number>();
  owner(path: string): { mode: number; uid: number; gid: number } | null {
    return this.nodes.has(path) ? { mode: this.modes.get(path) ?? 0o700, uid: 0, gid: 0 } : null;
  }
  /** A stamp made of what the node holds (a dir: its entries and their contents), changed long ago. */
  changeStamp(path: string): ChangeStamp | null {
    const n = this.nodes.get(path);
    if (!n) return null;
    if (n.type === 'file') return { id: `file:${n.data}`, changedAtMs: 0 };
    const prefix = `${path}/`;
    const below = [...this.nodes.entries()].filter(([k]) => k.startsWith(prefix)).sort(([a], [b]) => (a < b ? -1 : 1));
    return { id: JSON.stringify(below.map(([k, v]) => [k, v.type === 'file' ? v.data : 'dir'])), changedAtMs: 0 };
  }
  chmod(path: string, mode: number): void {
    if (!this.nodes.has(path)) throw errno('ENOENT', 'chmod', path);
    this.modes.set(path, mode);
  }
  chown(path: string): void {
    if (!this.nodes.has(path)) throw errno('ENOENT', 'chown', path);
  }

  // Host
  mkdir(path: string): void {
    const parts = path.split('/').filter(Boolean);
    let cur = '';
    for (const seg of parts) {
      cur += `/${seg}`;
      const n = this.nodes.get(cur);
      if (n?.type === 'file') throw errno('ENOTDIR', 'mkdir', cur);
      if (n) continue;
      const h = this.hierarchyOf(cur);
      if (h && cur !== '/sys/fs/cgroup') {
        this.makeCgroup(cur, h);
      } else {
        this.nodes.set(cur, { type: 'dir' });
      }
    }
  }
  writeFile(path: string, data: string): void {
    if (!this.nodes.has(path)) throw errno('ENOENT', 'open', path);
    if (this.hierarchyOf(path)) this.cgroupWrite(path, data);
    else this.put(path, data);
  }
  writeFileAtomic(path: string, data: string | Buffer): void {
    if (this.nodes.get(posix.dirname(path))?.type !== 'dir') throw errno('ENOENT', 'open', path);
    this.put(path, typeof data === 'string' ? data : data.toString('latin1'));
  }
  writeFileDurable(path: string, data: string | Buffer): void {
    this.writeFileAtomic(path, data);
  }
  async writeFileDurableAsync(path: string, data: string | Buffer): Promise<void> {
    await Promise.resolve();
    this.writeFileDurable(path, data);
  }
  writeFileInPlace(path: string, data: string | Buffer): void {
    if (this.nodes.get(path)?.type !== 'file') throw errno('ENOENT', 'open', path);
    this.put(path, typeof data === 'string' ? data : data.toString('latin1'));
  }
  async createExclusive(path: string, data: string): Promise<boolean> {
    await Promise.resolve();
    if (this.nodes.get(posix.dirname(path))?.type !== 'dir') throw errno('ENOENT', 'open', path);
    if (this.nodes.has(path)) return false;
    this.put(path, data);
    return true;
  }
  rename(from: string, to: string): void {
    if (!this.nodes.has(from)) throw errno('ENOENT', 'rename', from);
    if (this.nodes.get(posix.dirname(to))?.type !== 'dir') throw errno('ENOENT', 'rename', to);
    for (const k of [...this.nodes.keys()].sort()) {
      if (k !== from && !k.startsWith(`${from}/`)) continue;
      this.nodes.set(to + k.slice(from.length), this.nodes.get(k)!);
      this.nodes.delete(k);
    }
  }
  syncFilesystem(): void {}
  /** How many times releaseFreeMemory was called. */
  freeMemoryReleases = 0;
  releaseFreeMemory(): void {
    this.freeMemoryReleases++;
  }
  removeFile(path: string): void {
    if (this.nodes.get(path)?.type !== 'file') return;
    this.nodes.delete(path);
    for (const [link, ns] of this.linkOwners) if (ns === path) this.removeLink(link);
  }
  pinNetns(path: string, _userns?: unknown): void {
    if (this.nodes.get(posix.dirname(path))?.type !== 'dir') throw errno('ENOENT', 'open', path);
    if (this.nodes.has(path)) throw errno('EEXIST', 'open', path);
    this.put(path, '');
  }
  addLink(name: string, netns: string | null): void {
    this.mkdir(`/sys/class/net/${name}`);
    this.linkOwners.set(name, netns);
  }
  removeLink(name: string): boolean {
    if (!this.linkOwners.delete(name)) return false;
    this.removeTree(`/sys/class/net/${name}`);
    return true;
  }
  /** Links there are now (bridges and host veths). */
  links(): string[] {
    return [...this.linkOwners.keys()].sort();
  }
  rmdir(path: string): void {
    const n = this.nodes.get(path);
    if (!n) return;
    if (n.type !== 'dir') throw errno('ENOTDIR', 'rmdir', path);
    if (this.hierarchyOf(path)) {
      if ((this.readFile(`${path}/cgroup.procs`) ?? '').trim()) throw errno('EBUSY', 'rmdir', path);
      const kids = [...this.nodes.keys()].filter((k) => k.startsWith(`${path}/`) && this.nodes.get(k)!.type === 'dir');
      if (kids.length) throw errno('EBUSY', 'rmdir', path);
      for (const k of [...this.nodes.keys()]) if (k.startsWith(`${path}/`)) this.nodes.delete(k);
      this.nodes.delete(path);
      return;
    }
    if (this.readDir(path)!.length) throw errno('ENOTEMPTY', 'rmdir', path);
    this.nodes.delete(path);
  }
  removeTree(path: string): void {
    for (const k of [...this.nodes.keys()]) if (k === path || k.startsWith(`${path}/`)) this.nodes.delete(k);
  }
  unmount(path: string): void {
    this.mounts.delete(path);
  }
  mountTmpfs(path: string): void {
    if (this.nodes.get(path)?.type !== 'dir') throw errno('ENOENT', 'mount', path);
    this.mounts.add(path);
  }

  async startMonitor(_binary: string, config: Buffer): Promise<MonitorStart> {
    if (this.failStarts.count > 0) {
      this.failStarts.count--;
      return { ok: false, message: this.failStarts.message };
    }
    const parts = config.toString('utf8').split('\0');
    const cfg = new Map<string, string[]>();
    for (let i = 0; i + 1 < parts.length; i += 2) cfg.set(parts[i]!, [...(cfg.get(parts[i]!) ?? []), parts[i + 1]!]);
    const stateDir = cfg.get('state_dir')![0]!;
    const exitFile = cfg.get('exit_file')![0]!;
    for (const d of [...(cfg.get('mkdir_private') ?? []), ...(cfg.get('mkdir') ?? [])]) this.mkdir(d);
    const dirs = [...(cfg.get('cgroup_tasks') ?? []).map((f) => posix.dirname(f)), ...(cfg.get('cgroup2_dir') ?? [])];
    const monitor: FakeProc = { pid: this.nextPid++, start: 7, alive: true, cgroupDirs: [], stateDir, exitFile, role: 'monitor' };
    const init: FakeProc = { pid: this.nextPid++, start: 8, alive: true, cgroupDirs: dirs, stateDir, exitFile, role: 'init' };
    this.procs.set(monitor.pid, monitor);
    this.procs.set(init.pid, init);
    for (const d of dirs) {
      if (!this.nodes.has(`${d}/cgroup.procs`)) return { ok: false, message: `place init in cgroup ${d}: ENOENT` };
      this.cgroupWrite(`${d}/cgroup.procs`, String(init.pid));
    }
    this.put(
      `${stateDir}/pids.json`,
      JSON.stringify({
        monitorPid: monitor.pid,
        monitorStart: 7,
        initPid: init.pid,
        initStart: 8,
        startedAtMs: Date.now(),
        bootId: cfg.get('boot_id')![0],
      }),
    );
    return { ok: true, initPid: init.pid, monitorPid: monitor.pid };
  }
  /** What `runExec` answers (health checks): by default exit 0; argv is the command run inside. */
  execAnswer: (argv: string[]) => ExecResult = () => ({ exitCode: 0, output: '' });
  /** Commands run inside containers by runExec, in order. */
  readonly execs: string[][] = [];
  async runExec(_binary: string, config: Buffer): Promise<ExecResult> {
    const parts = config.toString('utf8').split('\0');
    const argv: string[] = [];
    for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i] === 'arg') argv.push(parts[i + 1]!);
    this.execs.push(argv);
    return this.execAnswer(argv);
  }
  /** What `probe` answers (network health checks): by default a connection and HTTP 200. */
  probeAnswer: (target: { port: number; httpPath?: string }) => NetProbeResult = (t) => ({
    connected: true,
    ...(t.httpPath !== undefined && { status: 200 }),
  });
  async probe(proc: ProcessRef, target: { port: number; httpPath?: string }): Promise<NetProbeResult> {
    if (this.procStartTime(proc.pid) !== proc.startTime) return { connected: false, error: `process ${proc.pid} is gone` };
    return this.probeAnswer(target);
  }
  signal(proc: ProcessRef, signal: number): boolean {
    if (this.procStartTime(proc.pid) !== proc.startTime) return false;
    this.exit(proc.pid, signal);
    return true;
  }
  async waitForExit(proc: ProcessRef): Promise<boolean> {
    return this.procStartTime(proc.pid) !== proc.startTime;
  }
  private exitWatchers = new Map<number, Set<() => void>>();
  watchExit(proc: ProcessRef, onExit: () => void): () => void {
    if (this.procStartTime(proc.pid) !== proc.startTime) {
      setImmediate(onExit);
      return () => {};
    }
    const set = this.exitWatchers.get(proc.pid) ?? new Set();
    this.exitWatchers.set(proc.pid, set);
    set.add(onExit);
    return () => set.delete(onExit);
  }
  private held = new Map<string, Promise<void>>();
  async lock(path: string): Promise<() => void> {
    while (this.held.has(path)) await this.held.get(path);
    let release!: () => void;
    this.held.set(path, new Promise<void>((r) => (release = r)));
    return () => {
      this.held.delete(path);
      release();
    };
  }
}
