import { join } from 'node:path';

/** Directories of one pocker instance. Several instances can share a host with different values. */
export interface InstanceDirs {
  /** Small per-container records (tmpfs, emptied by a reboot). Default /run/pocker. */
  stateDir: string;
  /** Layers, writable layers and logs. Default /var/lib/pocker. */
  dataDir: string;
  /** Cgroup path, relative to each hierarchy's root, that holds every pocker cgroup. Default pocker. */
  cgroupParent: string;
}

/** Default instance directories. */
export const DEFAULT_DIRS: InstanceDirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

/** Where each file of one container lives. Names are DNS labels, so they are safe path components. */
export interface ContainerPaths {
  stateDir: string;
  record: string;
  pids: string;
  exit: string;
  health: string;
  dataDir: string;
  upper: string;
  work: string;
  rootfs: string;
  log: string;
}

export function containerPaths(dirs: InstanceDirs, name: string): ContainerPaths {
  const state = join(dirs.stateDir, name);
  const data = join(dirs.dataDir, 'containers', name);
  return {
    stateDir: state,
    record: join(state, 'record.json'),
    pids: join(state, 'pids.json'),
    exit: join(state, 'exit.json'),
    health: join(state, 'health.json'),
    dataDir: data,
    upper: join(data, 'upper'),
    work: join(data, 'work'),
    rootfs: join(data, 'rootfs'),
    log: join(data, 'container.log'),
  };
}

/** The directory under the data dir holding every container's writable layer and log. */
export function containersDataDir(dirs: InstanceDirs): string {
  return join(dirs.dataDir, 'containers');
}

/** Directory of the per-container lock files (kept apart from container state, never removed). */
export function locksDir(dirs: InstanceDirs): string {
  return join(dirs.stateDir, '.locks');
}

/** Where bridge containers' network namespaces are pinned (one file per container name). */
export function netnsDir(dirs: InstanceDirs): string {
  return join(dirs.stateDir, '.netns');
}

/** Paths of a bridge container's network state: attachment record, pinned namespace, generated /etc files. */
export function networkPaths(dirs: InstanceDirs, name: string): { record: string; netns: string; etcDir: string } {
  return { record: join(dirs.stateDir, name, 'network.json'), netns: join(netnsDir(dirs), name), etcDir: join(dirs.stateDir, name, 'etc') };
}
