import { builtins } from '../builtins.js';
import { join } from 'node:path';

/** Directories of one pocker instance. Several instances can share a host with different values. */
export interface InstanceDirs {
  /** What runs now: pids, health, locks, pinned namespaces (tmpfs, emptied by a reboot). Default /run/pocker. */
  stateDir: string;
  /** What each container is: its record, writable layer, log and network attachment (survives reboots). Default /var/lib/pocker. */
  dataDir: string;
  /** Cgroup path, relative to each hierarchy's root, that holds every pocker cgroup. Default pocker. */
  cgroupParent: string;
}

/** Default instance directories. */
export const DEFAULT_DIRS: InstanceDirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

/** Where secrets are read from when neither the instance config nor a flag says. */
export const DEFAULT_SECRETS_DIR = '/etc/pocker/secrets';

/**
 * Where each file of one container lives. The data dir holds what the container is and keeps it
 * across reboots (record, last exit, network attachment, writable layer, log); the state dir
 * holds what runs now (the monitor's pids, health). Names are DNS labels, so they are safe path
 * components.
 */
export interface ContainerPaths {
  /** `<state-dir>/<name>`: runtime files of the current boot. */
  stateDir: string;
  /** Written by the monitor once the workload runs. */
  pids: string;
  health: string;
  /** `<data-dir>/containers/<name>`: everything that outlives a reboot. */
  dataDir: string;
  /** The container's record (durable). */
  record: string;
  /** The last run's exit, written by the monitor (durable). */
  exit: string;
  /** Which exit the events journal was last told of (so each exit is reported once, by whichever pass saw it first). */
  exitReported: string;
  upper: string;
  work: string;
  rootfs: string;
  log: string;
  /** The host side of the container's `files` (one file per target, bind-mounted read-only). */
  files: string;
  /** A tmpfs holding the host side of its `secrets` (mounted by the controller; never on disk). */
  secrets: string;
  /** Where the releases before the data-dir record kept the record and the exit (read to migrate). */
  legacyRecord: string;
  legacyExit: string;
}

/** A container's two dirs: the state dir's (runtime files of this boot) and the data dir's (record, layer, log). */
export function containerDirs(dirs: InstanceDirs, name: string): { stateDir: string; dataDir: string } {
  return { stateDir: join(dirs.stateDir, name), dataDir: join(dirs.dataDir, 'containers', name) };
}

/**
 * Every path of a container's files in its two dirs. Both dirs come out of `join` (normalized, no
 * trailing slash) and every file name is a plain component, so the rest is concatenation: this
 * runs several times per container in every observation.
 */
export function containerPaths(dirs: InstanceDirs, name: string): ContainerPaths {
  const { stateDir: state, dataDir: data } = containerDirs(dirs, name);
  return {
    stateDir: state,
    pids: `${state}/pids.json`,
    health: `${state}/health.json`,
    dataDir: data,
    record: `${data}/container.json`,
    exit: `${data}/exit.json`,
    exitReported: `${data}/exit.reported`,
    upper: `${data}/upper`,
    work: `${data}/work`,
    rootfs: `${data}/rootfs`,
    log: `${data}/container.log`,
    files: `${data}/files`,
    secrets: `${data}/secrets`,
    legacyRecord: `${state}/record.json`,
    legacyExit: `${state}/exit.json`,
  };
}

/** The directory under the data dir holding every container's record, writable layer and log. */
export function containersDataDir(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'containers');
}

/** Where each range of host ids a container holds is reserved: one file per range, named by its first host uid, holding the container's name. */
export function usernsDir(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'userns');
}

/** The directory holding every named volume (root only: volumes hold container data). */
export function volumesDir(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'volumes');
}

/** Where a named volume's content lives; it is bind-mounted into the containers that name it. */
export function volumePath(dirs: InstanceDirs, name: string): string {
  return join(dirs.dataDir, 'volumes', name);
}

/** The data dir's record of which instance owns it (see instance/identity.ts). */
export function instanceFile(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'instance.json');
}

/** Directory of the per-container lock files (kept apart from container state, never removed). */
export function locksDir(dirs: InstanceDirs): string {
  return join(dirs.stateDir, '.locks');
}

/** Where bridge containers' network namespaces are pinned (one file per container name). */
export function netnsDir(dirs: InstanceDirs): string {
  return join(dirs.stateDir, '.netns');
}

/**
 * Paths of a bridge container's network: the attachment record and the generated /etc files
 * (durable: a removal after a reboot still needs the conflist used at ADD), the pinned namespace
 * (of this boot), and where releases before the data-dir record kept the attachment record.
 */
export function networkPaths(dirs: InstanceDirs, name: string): { record: string; netns: string; etcDir: string; legacyRecord: string } {
  const data = join(dirs.dataDir, 'containers', name);
  return {
    record: join(data, 'network.json'),
    netns: join(netnsDir(dirs), name),
    etcDir: join(data, 'etc'),
    legacyRecord: join(dirs.stateDir, name, 'network.json'),
  };
}

/** The name, in a container's `files` or `secrets` dir, of the host file bind-mounted at target. */
export function contentFileName(target: string): string {
  return builtins.crypto().createHash('sha256').update(target).digest('hex').slice(0, 16);
}
