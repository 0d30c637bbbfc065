import type { NetnsFirewall } from './firewall.js';
import type { CniExec } from './cniExec.js';
import type { ExecResult } from './execProcess.js';
import type { NetProbeResult } from './netProbe.js';
import type { NetAdmin } from './netAdmin.js';

import type { IdRange } from './idRange.js';

/** A process identified by pid and start time (clock ticks since boot), immune to pid reuse. */
export interface ProcessRef {
  pid: number;
  startTime: number;
}

/** A device node: block or character, with its major and minor number. */
export interface DeviceNode {
  kind: 'block' | 'char';
  major: number;
  minor: number;
}

/** What the monitor reported on its status pipe. */
export type MonitorStart = { ok: true; initPid: number; monitorPid: number } | { ok: false; message: string; timedOut?: boolean };

/** How a monitor is started (see Host.startMonitor). */
export interface MonitorLaunch {
  /** Names the container in ps. */
  label: string;
  /** A lock this controller holds (see lock()), shared with the monitor until it has recorded its pids. */
  lockPath?: string;
  /** The monitor's stdin, stdout and stderr (default /dev/null). */
  stdio?: StdioFds;
  /** Longest wait for the monitor's report; then it is killed and the start fails. */
  timeoutMs: number;
}

/** Read-only view of the host used by observation and checks. */
export interface HostReader {
  /** File contents (UTF-8), or null when it does not exist. */
  readFile(path: string): string | null;
  /** File contents as bytes, or null when it does not exist. */
  readBytes(path: string): Buffer | null;
  /** Directory entries, or null when it does not exist. */
  readDir(path: string): string[] | null;
  /** The entries that are directories (symlinks followed), from the entry types the listing gives; null when it does not exist. */
  readSubdirs(path: string): string[] | null;
  /** 'dir' | 'file' | 'other', or null when missing (symlinks followed). */
  kind(path: string): 'dir' | 'file' | 'other' | null;
  /** Like kind, but a symlink is reported as such instead of followed. */
  lkind(path: string): 'dir' | 'file' | 'symlink' | 'other' | null;
  /** What the node at path is (symlinks followed): a device with its number, something else, or null when missing. */
  deviceNode(path: string): DeviceNode | 'other' | null;
  /** Start time of a live process, or null when there is none. */
  procStartTime(pid: number): number | null;
  /** Mount points in the host's mount table at or under dir, deepest first. */
  mountsUnder(dir: string): string[];
  /** The kernel's boot id: another value than a record's means a reboot came between. */
  bootId(): string;
  /** Permission bits and owner of path itself (symlinks not followed), or null when missing. */
  owner(path: string): { mode: number; uid: number; gid: number } | null;
  /** Identity and last change of path (symlinks followed), or null when missing. */
  changeStamp(path: string): ChangeStamp | null;
}

/**
 * Which node a path is and when it last changed: `id` differs after any change of the node (for a
 * directory: an entry created, renamed over or removed) or a replacement by another node.
 */
export interface ChangeStamp {
  /** Device, inode, mtime and ctime. */
  id: string;
  /** The change time (ctime) in ms: from the kernel's coarse clock, up to one tick behind. */
  changedAtMs: number;
}

/**
 * How long a file or dir must have been left alone before what was read of it is trusted to stand
 * while its size and times do not change. They come from the kernel's coarse clock (one tick, up
 * to 10 ms, behind): a node changed again within the tick of a read can keep them. Only a read
 * made well after the last change is trusted, as git does with racily clean index entries (the
 * spec parse cache, the watching controller's reused observations).
 */
export const SETTLED_MS = 50;

/**
 * Every way pocker changes the host goes through this interface, so a test can count or fake
 * mutations: files and processes here, CNI plugins through `cni`, the nat table and links
 * through `net`. Paths are absolute; nothing here runs a shell.
 */
export interface Host extends HostReader {
  /** Runs CNI plugins. */
  readonly cni: CniExec;
  /** The nat table and links. */
  readonly net: NetAdmin;
  /** nftables inside containers' network namespaces (their firewall rules). */
  readonly firewall: NetnsFirewall;
  /**
   * Makes a network namespace kept alive by a bind mount on path (a new file), as `ip netns add`
   * does; with userns, owned by a new user namespace mapped to that range (the container's root
   * then has its network capabilities there, and the container enters that user namespace).
   */
  pinNetns(path: string, userns?: IdRange): void;
  /** mkdir -p. */
  mkdir(path: string, mode?: number): void;
  /** chmod(2) of the permission bits. */
  chmod(path: string, mode: number): void;
  /** chown(2). */
  chown(path: string, uid: number, gid: number): void;
  /** One write to an existing file (cgroupfs semantics). */
  writeFile(path: string, data: string): void;
  /**
   * Write to a temp file and rename it over path: readers and a later pass see the old or the new
   * content, never a torn one, whenever the writer dies. No fsync: records describe live processes,
   * which a power loss takes down with them.
   */
  writeFileAtomic(path: string, data: string | Buffer, mode?: number): void;
  /** writeFileAtomic that also survives a power loss: the file and its directory are fsynced. */
  writeFileDurable(path: string, data: string | Buffer, mode?: number): void;
  /**
   * writeFileDurable off the event loop: resolves once the file and its directory are on disk.
   * Containers started together then wait for the disk together (the filesystem commits their
   * fsyncs at once) instead of one after the other. One write at a time per path.
   */
  writeFileDurableAsync(path: string, data: string | Buffer, mode?: number): Promise<void>;
  /**
   * Replaces the content of an existing file keeping its inode (written from the start, then
   * truncated): for files bind-mounted elsewhere, which a rename would leave behind.
   */
  writeFileInPlace(path: string, data: string | Buffer): void;
  /**
   * Creates path with data only if nothing is there (O_EXCL), durably (file and directory
   * fsynced, off the event loop); false when it exists. The one arbiter between processes (and
   * concurrent starts of one process) racing for a name.
   */
  createExclusive(path: string, data: string): Promise<boolean>;
  /** rename(2), then an fsync of the destination's directory: the move survives a power loss. */
  rename(from: string, to: string): void;
  /** syncfs(2) of the filesystem holding path: everything written there is on disk. */
  syncFilesystem(path: string): void;
  /** Remove a file; missing is fine. */
  removeFile(path: string): void;
  /** Remove an empty directory (cgroups); missing is fine. */
  rmdir(path: string): void;
  /** rm -rf; missing is fine. Never crosses into a mount: callers unmount first. */
  removeTree(path: string): void;
  /** Detaches a mount (lazy unmount). */
  unmount(path: string): void;
  /** Mounts a tmpfs of at most sizeBytes on the directory path (nosuid, nodev, noexec; its root has mode). */
  mountTmpfs(path: string, sizeBytes: number, mode: number): void;
  /**
   * Spawn the monitor with its config (see runtime/monitorConfig.ts) and wait for its status
   * report, at most `timeoutMs` (then the monitor is killed and a timed-out failure returned).
   * The lock at `lockPath` is shared with the monitor until it has recorded its pids: a
   * controller killed meanwhile leaves the lock held, so the next one cannot look at the
   * container half-way and start another.
   */
  startMonitor(binary: string, config: Buffer, launch: MonitorLaunch): Promise<MonitorStart>;
  /**
   * Runs `binary exec` (pocker-monitor) with a config naming a running container: the command
   * runs inside it, its output is captured; after timeoutMs the host-side process is killed.
   */
  runExec(binary: string, config: Buffer, timeoutMs: number): Promise<ExecResult>;
  /**
   * Connects to 127.0.0.1:port from inside the network namespace of a running process (a
   * container's init), and for an HTTP probe reads the status of `GET httpPath`; bounded by
   * timeoutMs. Reads nothing of the host; a probe of a process that is gone fails.
   */
  probe(proc: ProcessRef, target: { port: number; httpPath?: string }, timeoutMs: number): Promise<NetProbeResult>;
  /** Send a signal if the process is still the one referred to; false when it is gone. */
  signal(proc: ProcessRef, signal: number): boolean;
  /** Resolves true once the process has exited, false after timeoutMs. */
  waitForExit(proc: ProcessRef, timeoutMs: number): Promise<boolean>;
  /** Calls onExit once when the process exits (at once if it is already gone); returns stop(). */
  watchExit(proc: ProcessRef, onExit: () => void): () => void;
  /**
   * Takes the exclusive lock named by path (a file, created if missing), waiting for it at most
   * timeoutMs (then it rejects with code LOCK_TIMEOUT); resolves to release(). The kernel drops
   * it when the holder dies.
   */
  lock(path: string, timeoutMs?: number): Promise<() => void>;
  /**
   * Gives the free memory inside this process's malloc heaps back to the kernel (glibc's
   * malloc_trim): what a burst of work allocated and freed stays in the process's RSS otherwise.
   */
  releaseFreeMemory(): void;
}

/** File descriptors a monitor gets as its stdin, stdout and stderr (default /dev/null). */
export type StdioFds = [number, number, number];

/** Names of the Host methods that change the host (counted by tests). */
export const MUTATING_METHODS = [
  'mkdir',
  'chmod',
  'chown',
  'writeFile',
  'writeFileAtomic',
  'writeFileDurable',
  'writeFileDurableAsync',
  'writeFileInPlace',
  'createExclusive',
  'rename',
  'removeFile',
  'rmdir',
  'removeTree',
  'unmount',
  'mountTmpfs',
  'pinNetns',
  'startMonitor',
  'runExec',
  'signal',
] as const;

/** Parses the start time (field 22) out of /proc/<pid>/stat text. */
export function parseStatStartTime(stat: string): number | null {
  const close = stat.lastIndexOf(')');
  if (close < 0) return null;
  const fields = stat.slice(close + 2).split(' ');
  const v = Number(fields[19]);
  return Number.isFinite(v) ? v : null;
}

/** Mount points (5th field, unescaped) of mountinfo text at or under dir, deepest first. */
export function mountPointsUnder(mountinfo: string, dir: string): string[] {
  const prefix = dir.endsWith('/') ? dir : `${dir}/`;
  const points = mountinfo
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => !!p)
    .map((p) => p.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
    .filter((p) => p === dir || p.startsWith(prefix));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}
