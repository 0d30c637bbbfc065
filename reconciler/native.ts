import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The functions of the node-addon-api addon (native/addon). */
export interface NativeAddon {
  /** pipe2(O_CLOEXEC): [read, write]. */
  pipe(): [number, number];
  close(fd: number): void;
  /** flock(LOCK_EX[|LOCK_NB]): true when held, false when another process holds it (non-blocking). */
  flock(fd: number, nonBlocking?: boolean): boolean;
  /** malloc_trim(0) (glibc): gives malloc's free pages back to the kernel; true when some went back. */
  mallocTrim(): boolean;
  /** memfd_create(MFD_CLOEXEC) holding data. */
  memfd(name: string, data: Buffer): number;
  /** posix_spawn in a new session with fds as 0..n-1 and all others closed; returns the pid. */
  spawn(path: string, argv: string[], env: string[], fds: number[]): number;
  /** spawn on a worker thread (a fork can wait milliseconds on the kernel's cgroup locks); keep the fds open until it settles. */
  spawnAsync(path: string, argv: string[], env: string[], fds: number[]): Promise<number>;
  /** waitpid; null with noHang when still running. */
  waitpid(pid: number, noHang?: boolean): { exitCode: number | null; signal: number | null } | null;
  /** execve(2): replaces this process with path (same pid, fds without CLOEXEC kept); returns only by throwing. */
  execve(path: string, argv: string[], env: string[]): never;
  pidfdOpen(pid: number): number;
  /** false when the process is already gone. */
  pidfdSendSignal(pidfd: number, signal: number): boolean;
  /** Calls cb on the event loop whenever fd is readable, until unwatchReadable(id); returns the watch's id. */
  watchReadable(fd: number, cb: () => void): number;
  /** Stops a watch (an id already stopped is ignored). */
  unwatchReadable(id: number): void;
  /** mount(2). */
  mount(source: string, target: string, fstype: string, flags: number, data?: string): void;
  /** Creates a network namespace kept alive by a bind mount on path (a new file), as `ip netns add` does. */
  netnsPin(path: string): void;
  /** A TCP connection to 127.0.0.1:port made inside the network namespace nsPath; resolves to the connected fd. */
  netnsConnect(nsPath: string, port: number, timeoutMs: number): Promise<number>;
  /** umount2(path, UMOUNT_NOFOLLOW | (detach ? MNT_DETACH : 0)). */
  umount(path: string, detach?: boolean): void;
  /** mknod(2): mode holds the file type (S_IFCHR, S_IFIFO, ...) and the permissions. */
  mknod(path: string, mode: number, major: number, minor: number): void;
  /** lsetxattr(2): an extended attribute of path itself (symlinks not followed). */
  lsetxattr(path: string, name: string, value: Buffer): void;
  /** lgetxattr(2): the attribute's value, or null when path has none of that name. */
  lgetxattr(path: string, name: string): Buffer | null;
  /** syncfs(2) on the filesystem holding path. */
  syncfs(path: string): void;
}

let root: string | undefined;

/** The package root (the directory holding package.json), from the compiled or source location. */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  root = dir;
  return dir;
}

/** Path of the static monitor binary (override with POCKER_MONITOR for tests of other builds). */
export function monitorBinary(): string {
  return process.env.POCKER_MONITOR ?? join(packageRoot(), 'native', 'build', 'pocker-monitor');
}

let addon: NativeAddon | undefined;

/** Loads the addon on first use (commands that do not touch the kernel never load it). */
export function native(): NativeAddon {
  if (!addon) {
    const path = join(packageRoot(), 'native', 'build', 'Release', 'pocker.node');
    if (!existsSync(path)) {
      throw Object.assign(new Error(`native addon missing at ${path}: run "npm run build:native"`), {
        code: 'POCKER_NATIVE_MISSING',
        path,
      });
    }
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  }
  return addon;
}
