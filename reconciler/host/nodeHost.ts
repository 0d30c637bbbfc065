import { CommandFirewall, type NetnsFirewall } from './firewall.js';
import {
  chmodSync,
  chownSync,
  closeSync,
  constants,
  fsyncSync,
  ftruncateSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  rmdirSync,
  statSync,
  lstatSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/**
 * The buffer readFile and readToEnd read into (one thread, synchronous reads that copy out what
 * they got: never used by two reads at once, and a thousand starts waiting for their monitors
 * hold no buffer each).
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);
import { monitorBinary, native } from '../native.js';
import type { IdRange } from './idRange.js';
import { builtins } from '../builtins.js';
import { NodeCniExec, type CniExec } from './cniExec.js';
import { runExecCaptured, type ExecResult } from './execProcess.js';
import { probeInNetns, type NetProbeResult } from './netProbe.js';
import { CommandNetAdmin, type NetAdmin } from './netAdmin.js';
import {
  mountPointsUnder,
  parseStatStartTime,
  type ChangeStamp,
  type DeviceNode,
  type Host,
  type MonitorLaunch,
  type MonitorStart,
  type ProcessRef,
} from './host.js';

/** mount(2) flags (linux/mount.h). */
const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;

function ignoreMissing(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
}

let devNull: number | undefined;

/**
 * Reads an fd to EOF on the event loop (no thread blocked), then closes it; after timeoutMs it
 * stops and reports what it had.
 */
function readToEnd(fd: number, timeoutMs: number): Promise<{ text: string; timedOut: boolean }> {
  const n = native();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const finish = (timedOut: boolean): void => {
      clearTimeout(timer);
      n.unwatchReadable(watch);
      n.close(fd);
      resolve({ text: Buffer.concat(chunks).toString('utf8'), timedOut });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    const watch = n.watchReadable(fd, () => {
      let got: number;
      try {
        got = readSync(fd, READ_BUFFER, 0, READ_BUFFER.length, null);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EAGAIN') return;
        got = 0;
      }
      if (got > 0) {
        chunks.push(Buffer.from(READ_BUFFER.subarray(0, got)));
        return;
      }
      finish(false);
    });
  });
}

/** The monitor's pid from its first status line ("pid N", written as soon as it has detached). */
export function monitorPidOf(text: string): number | null {
  const m = /^pid (\d+)$/m.exec(text);
  return m ? Number(m[1]) : null;
}

/** Parses the monitor's status: "pid N", then "ok INIT MONITOR" or "error MESSAGE". */
export function parseMonitorStatus(text: string): MonitorStart {
  const line = text
    .trim()
    .split('\n')
    .filter((l) => !/^pid \d+$/.test(l))
    .join('\n')
    .trim();
  const ok = /^ok (\d+) (\d+)$/.exec(line);
  if (ok) return { ok: true, initPid: Number(ok[1]), monitorPid: Number(ok[2]) };
  if (line.startsWith('error ')) return { ok: false, message: line.slice(6) };
  return { ok: false, message: line ? `unexpected monitor status: ${line}` : 'the monitor exited without reporting a status' };
}

/** Sends SIGKILL to pid if it is still there (a monitor that never reported). */
function killQuietly(pid: number | null): void {
  if (!pid) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/**
 * A pidfd for pid, or null when that process is gone: ESRCH, or EINVAL because the number now
 * belongs to a thread of another process (pid reuse).
 */
function openPidfd(pid: number): number | null {
  try {
    return native().pidfdOpen(pid);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ESRCH' || code === 'EINVAL') return null;
    throw e;
  }
}

/**
 * Writes data to a temp file beside path and renames it over path; durable: the temp file is
 * fsynced before the rename and the directory after it.
 */
function writeReplacing(path: string, data: string | Buffer, mode: number, durable: boolean): void {
  const tmp = `${path}.tmp${process.pid}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data) : data);
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    renameSync(tmp, path);
  } catch (e) {
    ignoreMissing(() => unlinkSync(tmp));
    throw e;
  }
  if (durable) fsyncDir(dirname(path));
}

/** What read gives, or null when the path (or a dir on it) is not there. */
function unlessMissing<T>(read: () => T): T | null {
  try {
    return read();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw e;
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Writes data to an open file, fsyncs and closes it (closed whatever fails). */
async function writeSynced(file: FileHandle, data: string | Buffer): Promise<void> {
  try {
    await file.writeFile(data);
    await file.sync();
  } finally {
    await file.close();
  }
}

async function fsyncDirAsync(dir: string): Promise<void> {
  const handle = await builtins.fsPromises().open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The real host: node:fs for files, the native addon for processes. */
/** Longest wait for `pocker-monitor pin-netns` (a fork, two namespaces and a bind mount). */
const PIN_NETNS_TIMEOUT_MS = 5_000;

export class NodeHost implements Host {
  readonly cni: CniExec = new NodeCniExec();
  readonly net: NetAdmin = new CommandNetAdmin();
  readonly firewall: NetnsFirewall = new CommandFirewall();
  /** Locks this process holds, by path: their fds are shared with the monitors it starts under them. */
  private readonly heldLocks = new Map<string, number>();
  private bootIdOfKernel: string | undefined;

  /**
   * Reads through one reused buffer, looping until read(2) returns 0 (under /sys, until a short
   * read: kernfs fills what it is given); cgroupfs files report no size for readFileSync to size
   * by. Observing and scraping read a dozen small files per container; this halves what each costs.
   */
  readFile(path: string): string | null {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH') return null;
      throw e;
    }
    try {
      const kernfs = path.startsWith('/sys/');
      let buf = READ_BUFFER;
      let length = 0;
      for (;;) {
        if (length === buf.length) {
          const bigger = Buffer.allocUnsafe(buf.length * 2);
          buf.copy(bigger, 0, 0, length);
          buf = bigger;
        }
        const want = buf.length - length;
        const n = readSync(fd, buf, length, want, null);
        length += n;
        // kernfs (sysfs, cgroupfs) fills the buffer as far as the file goes: a short read is its end.
        if (n === 0 || (kernfs && n < want)) break;
      }
      return buf.toString('utf8', 0, length);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ESRCH' || code === 'ENODEV') return null;
      throw e;
    } finally {
      closeSync(fd);
    }
  }

  readBytes(path: string): Buffer | null {
    try {
      return readFileSync(path);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ESRCH') return null;
      throw e;
    }
  }

  pinNetns(path: string, userns?: IdRange): void {
    if (!userns) {
      native().netnsPin(path);
      return;
    }
    const r = builtins
      .childProcess()
      .spawnSync(monitorBinary(), ['pin-netns', path, String(userns.uid), String(userns.gid), String(userns.size)], {
        stdio: ['ignore', 'ignore', 'pipe'],
        timeout: PIN_NETNS_TIMEOUT_MS,
        encoding: 'utf8',
      });
    if (r.status !== 0)
      throw Object.assign(
        new Error(r.stderr?.trim() || `pocker-monitor pin-netns ${path}: ${r.error?.message ?? `exit ${r.status ?? r.signal}`}`),
        {
          code: r.error ? 'ETIMEDOUT' : 'EPINNETNS',
          path,
        },
      );
  }

  readDir(path: string): string[] | null {
    return unlessMissing(() => readdirSync(path));
  }

  readSubdirs(path: string): string[] | null {
    return unlessMissing(() =>
      readdirSync(path, { withFileTypes: true })
        .filter((d) => d.isDirectory() || (d.isSymbolicLink() && this.kind(join(path, d.name)) === 'dir'))
        .map((d) => d.name),
    );
  }

  kind(path: string): 'dir' | 'file' | 'other' | null {
    try {
      const st = statSync(path);
      return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return null;
    }
  }

  lkind(path: string): 'dir' | 'file' | 'symlink' | 'other' | null {
    try {
      const st = lstatSync(path);
      return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch {
      return null;
    }
  }

  deviceNode(path: string): DeviceNode | 'other' | null {
    let st;
    try {
      st = statSync(path, { bigint: true });
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw e;
    }
    if (!st.isBlockDevice() && !st.isCharacterDevice()) return 'other';
    // glibc's dev_t encoding (libuv builds st_rdev with makedev).
    const major = Number(((st.rdev >> 8n) & 0xfffn) | ((st.rdev >> 32n) & ~0xfffn & 0xffffffffn));
    const minor = Number((st.rdev & 0xffn) | ((st.rdev >> 12n) & ~0xffn & 0xffffffffn));
    return { kind: st.isBlockDevice() ? 'block' : 'char', major, minor };
  }

  procStartTime(pid: number): number | null {
    const stat = this.readFile(`/proc/${pid}/stat`);
    return stat === null ? null : parseStatStartTime(stat);
  }

  mountsUnder(dir: string): string[] {
    return mountPointsUnder(this.readFile('/proc/self/mountinfo') ?? '', dir);
  }

  owner(path: string): { mode: number; uid: number; gid: number } | null {
    try {
      const st = lstatSync(path);
      return { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
    } catch {
      return null;
    }
  }

  changeStamp(path: string): ChangeStamp | null {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) return null;
    return { id: `${st.dev}:${st.ino}:${st.mtimeMs}:${st.ctimeMs}`, changedAtMs: st.ctimeMs };
  }

  chmod(path: string, mode: number): void {
    chmodSync(path, mode);
  }

  chown(path: string, uid: number, gid: number): void {
    chownSync(path, uid, gid);
  }

  bootId(): string {
    return (
      process.env.POCKER_TEST_BOOT_ID ?? (this.bootIdOfKernel ??= (this.readFile('/proc/sys/kernel/random/boot_id') ?? 'unknown').trim())
    );
  }

  unmount(path: string): void {
    native().umount(path, true);
  }

  mountTmpfs(path: string, sizeBytes: number, mode: number): void {
    native().mount('tmpfs', path, 'tmpfs', MS_NOSUID | MS_NODEV | MS_NOEXEC, `size=${sizeBytes},mode=${mode.toString(8)}`);
  }

  mkdir(path: string, mode = 0o755): void {
    mkdirSync(path, { recursive: true, mode });
  }

  writeFile(path: string, data: string): void {
    const fd = openSync(path, constants.O_WRONLY);
    try {
      writeSync(fd, data);
    } finally {
      closeSync(fd);
    }
  }

  writeFileAtomic(path: string, data: string | Buffer, mode = 0o600): void {
    writeReplacing(path, data, mode, false);
  }

  writeFileDurable(path: string, data: string | Buffer, mode = 0o600): void {
    writeReplacing(path, data, mode, true);
  }

  async writeFileDurableAsync(path: string, data: string | Buffer, mode = 0o600): Promise<void> {
    const tmp = `${path}.tmp${process.pid}`;
    await writeSynced(await builtins.fsPromises().open(tmp, 'w', mode), data);
    try {
      await builtins.fsPromises().rename(tmp, path);
    } catch (e) {
      await builtins
        .fsPromises()
        .unlink(tmp)
        .catch(() => undefined);
      throw e;
    }
    await fsyncDirAsync(dirname(path));
  }

  writeFileInPlace(path: string, data: string | Buffer): void {
    const fd = openSync(path, 'r+');
    try {
      const buf = typeof data === 'string' ? Buffer.from(data) : data;
      writeSync(fd, buf, 0, buf.length, 0);
      ftruncateSync(fd, buf.length);
    } finally {
      closeSync(fd);
    }
  }

  async createExclusive(path: string, data: string): Promise<boolean> {
    let file: FileHandle;
    try {
      file = await builtins.fsPromises().open(path, 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw e;
    }
    await writeSynced(file, data);
    await fsyncDirAsync(dirname(path));
    return true;
  }

  rename(from: string, to: string): void {
    renameSync(from, to);
    fsyncDir(dirname(to));
  }

  syncFilesystem(path: string): void {
    native().syncfs(path);
  }

  releaseFreeMemory(): void {
    native().mallocTrim();
  }

  removeFile(path: string): void {
    ignoreMissing(() => unlinkSync(path));
  }

  rmdir(path: string): void {
    ignoreMissing(() => rmdirSync(path));
  }

  removeTree(path: string): void {
    rmSync(path, { recursive: true, force: true, maxRetries: 3 });
  }

  /**
   * Not async: the config goes into its memfd before this returns, so no suspended call keeps
   * the Buffer (some 18 KiB) alive while the monitor starts; a burst of starts would hold one each.
   */
  startMonitor(binary: string, config: Buffer, launch: MonitorLaunch): Promise<MonitorStart> {
    const n = native();
    devNull ??= openSync('/dev/null', 'r+');
    const [rd, wr] = n.pipe();
    let conf: number;
    try {
      conf = n.memfd('pocker-monitor.conf', config);
    } catch (e) {
      n.close(rd);
      n.close(wr);
      return Promise.reject(e);
    }
    const lock = launch.lockPath === undefined ? undefined : this.heldLocks.get(launch.lockPath);
    const fds = [...(launch.stdio ?? [devNull, devNull, devNull]), wr, conf, ...(lock === undefined ? [] : [lock])];
    return this.awaitMonitor(binary, launch, rd, wr, conf, fds);
  }

  private async awaitMonitor(
    binary: string,
    launch: MonitorLaunch,
    rd: number,
    wr: number,
    conf: number,
    fds: number[],
  ): Promise<MonitorStart> {
    const n = native();
    let pid: number;
    try {
      // On a worker thread: a fork waits on the kernel while other processes change cgroups.
      pid = await n.spawnAsync(binary, [binary, '/proc/self/fd/4', launch.label], ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'], fds);
    } catch (e) {
      n.close(rd);
      throw e;
    } finally {
      n.close(wr);
      n.close(conf);
    }
    const status = await readToEnd(rd, launch.timeoutMs);
    if (status.timedOut) {
      killQuietly(monitorPidOf(status.text));
      killQuietly(pid);
      n.waitpid(pid);
      return { ok: false, timedOut: true, message: `the monitor did not report within ${launch.timeoutMs} ms (killed it)` };
    }
    n.waitpid(pid);
    return parseMonitorStatus(status.text);
  }

  runExec(binary: string, config: Buffer, timeoutMs: number): Promise<ExecResult> {
    return runExecCaptured(binary, config, timeoutMs);
  }

  async probe(proc: ProcessRef, target: { port: number; httpPath?: string }, timeoutMs: number): Promise<NetProbeResult> {
    if (this.procStartTime(proc.pid) !== proc.startTime) return { connected: false, error: `process ${proc.pid} is gone` };
    return probeInNetns(proc.pid, target, timeoutMs);
  }

  signal(proc: ProcessRef, signal: number): boolean {
    const n = native();
    const fd = openPidfd(proc.pid);
    if (fd === null) return false;
    try {
      if (this.procStartTime(proc.pid) !== proc.startTime) return false;
      return n.pidfdSendSignal(fd, signal);
    } finally {
      n.close(fd);
    }
  }

  watchExit(proc: ProcessRef, onExit: () => void): () => void {
    const n = native();
    const fd = openPidfd(proc.pid);
    if (fd === null || this.procStartTime(proc.pid) !== proc.startTime) {
      if (fd !== null) n.close(fd);
      setImmediate(onExit);
      return () => {};
    }
    let watch: number | undefined = n.watchReadable(fd, () => {
      cancel();
      onExit();
    });
    const cancel = (): void => {
      if (watch === undefined) return;
      n.unwatchReadable(watch);
      watch = undefined;
      n.close(fd);
    };
    return cancel;
  }

  async lock(path: string, timeoutMs = Infinity): Promise<() => void> {
    const n = native();
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'a', 0o600);
    const deadline = Date.now() + timeoutMs;
    while (!n.flock(fd, true)) {
      if (Date.now() > deadline) {
        closeSync(fd);
        throw Object.assign(new Error(`lock ${path}: still held by another process after ${timeoutMs} ms`), { code: 'LOCK_TIMEOUT', path });
      }
      await new Promise((r) => setTimeout(r, 5));
    }
    this.heldLocks.set(path, fd);
    return () => {
      this.heldLocks.delete(path);
      closeSync(fd);
    };
  }

  waitForExit(proc: ProcessRef, timeoutMs: number): Promise<boolean> {
    const n = native();
    const fd = openPidfd(proc.pid);
    if (fd === null) return Promise.resolve(true);
    if (this.procStartTime(proc.pid) !== proc.startTime) {
      n.close(fd);
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      let watch: number | undefined;
      let done = false;
      const finish = (exited: boolean): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (watch !== undefined) n.unwatchReadable(watch);
        watch = undefined;
        n.close(fd);
        resolve(exited);
      };
      const timer = setTimeout(() => finish(false), timeoutMs);
      watch = n.watchReadable(fd, () => finish(true));
    });
  }
}
