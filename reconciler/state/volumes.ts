import type { Host, HostReader } from '../host/host.js';
import { isVolumeName } from '../spec/names.js';
import { volumePath, volumesDir, type InstanceDirs } from './layout.js';

/** One named volume of the instance, as found under `<data-dir>/volumes`. */
export interface VolumeInfo {
  name: string;
  /** Its host directory (bind-mounted into the containers that name it). */
  path: string;
}

/** The named volumes that exist, by name. */
export function listVolumes(host: HostReader, dirs: InstanceDirs): VolumeInfo[] {
  return (host.readDir(volumesDir(dirs)) ?? [])
    .filter((n) => isVolumeName(n) && host.lkind(volumePath(dirs, n)) === 'dir')
    .sort()
    .map((name) => ({ name, path: volumePath(dirs, name) }));
}

/** Removes a volume's directory and everything in it (the caller checked that nothing uses it). */
export function removeVolume(host: Host, dirs: InstanceDirs, name: string): void {
  host.removeTree(volumePath(dirs, name));
}
