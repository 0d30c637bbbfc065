import { join } from 'node:path';
import type { Host } from '../host/host.js';
import { isContainerName } from '../spec/names.js';
import { containersDataDir, locksDir, netnsDir, volumesDir, type InstanceDirs } from '../state/layout.js';
import type { Logger } from '../log/logger.js';
import { checkInstance } from './identity.js';
import { seccompSupported } from '../runtime/security/seccomp.js';

/** Mode of every directory of an instance that holds container content, records, logs or state: root only. */
export const PRIVATE_DIR_MODE = 0o700;

/**
 * The directories of an instance no other host user may reach: the data dir and the state dir
 * themselves (a container's root can write a setuid file into its writable layer; a host user who
 * could reach it could run it, CVE-2021-41091), and below them what holds records, layers, logs,
 * images and state. Only those that exist.
 */
export function privateDirs(host: Host, dirs: InstanceDirs): string[] {
  const out = [
    dirs.dataDir,
    containersDataDir(dirs),
    join(dirs.dataDir, 'images'),
    join(dirs.dataDir, 'layers'),
    join(dirs.dataDir, '.quarantine'),
    volumesDir(dirs),
    dirs.stateDir,
    locksDir(dirs),
    netnsDir(dirs),
    join(dirs.stateDir, '.sources'),
  ];
  for (const n of (host.readDir(containersDataDir(dirs)) ?? []).filter(isContainerName)) out.push(join(containersDataDir(dirs), n));
  for (const n of (host.readDir(dirs.stateDir) ?? []).filter(isContainerName)) out.push(join(dirs.stateDir, n));
  return out.filter((d) => host.lkind(d) === 'dir');
}

/**
 * Makes every private directory of the instance root's alone (mode 0700, owner root), repairing
 * and reporting the ones that were not: a data dir made by an earlier release, by hand, or by
 * `mkdir -p`. Returns what was repaired.
 */
export function secureInstanceDirs(host: Host, dirs: InstanceDirs, log: Logger): string[] {
  const repaired: string[] = [];
  for (const d of privateDirs(host, dirs)) {
    const o = host.owner(d);
    if (!o || ((o.mode & 0o7777) === PRIVATE_DIR_MODE && o.uid === 0 && o.gid === 0)) continue;
    if (o.uid !== 0 || o.gid !== 0) host.chown(d, 0, 0);
    host.chmod(d, PRIVATE_DIR_MODE);
    const was = `mode ${(o.mode & 0o7777).toString(8).padStart(4, '0')}${o.uid !== 0 || o.gid !== 0 ? `, owner ${o.uid}:${o.gid}` : ''}`;
    repaired.push(`${d} (${was})`);
    log.warn(
      { path: d, mode: (o.mode & 0o7777).toString(8), uid: o.uid, gid: o.gid },
      `made ${d} private to root (it had ${was}): other host users must not reach container files`,
    );
  }
  return repaired;
}

/**
 * Everything a command that changes the host does first: checks that the directories are the
 * instance's (claiming a new data dir), creates the data dir and the state dir root-only, and
 * repairs the modes of the private directories that exist.
 */
export function prepareInstance(host: Host, dirs: InstanceDirs, log: Logger): void {
  checkInstance(host, dirs, true);
  for (const d of [dirs.dataDir, dirs.stateDir]) if (host.lkind(d) === null) host.mkdir(d, PRIVATE_DIR_MODE);
  secureInstanceDirs(host, dirs, log);
  if (!seccompSupported())
    log.warn(
      { arch: process.arch },
      `pocker has no seccomp filter for ${process.arch}: every unprivileged container runs without syscall filtering (only x86_64 has one)`,
    );
}
