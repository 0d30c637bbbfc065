import { readRecord } from '../observe/observe.js';
import type { HostReader } from '../host/host.js';
import { isContainerName } from '../spec/names.js';
import { containersDataDir, type InstanceDirs } from '../state/layout.js';
import { listAutoUpdates } from '../state/autoUpdate.js';

/** What one container record says about the image it runs. */
export interface ContainerImageUse {
  name: string;
  /** Layer directories of its effective spec (overlay lowerdirs). */
  layers: string[];
  /** The image reference of its spec, when it names one (an imported ref, or a registry reference). */
  ref?: string;
  /** The manifest digest it is pinned to (registry images). */
  pinned?: string;
}

/** Image use of every container of the instance, and the containers whose record cannot be read. */
export function containerImageUse(host: HostReader, dirs: InstanceDirs): { uses: ContainerImageUse[]; unreadable: string[] } {
  const uses: ContainerImageUse[] = [];
  const unreadable: string[] = [];
  const names = [...new Set([...(host.readDir(containersDataDir(dirs)) ?? []), ...(host.readDir(dirs.stateDir) ?? [])])]
    .filter(isContainerName)
    .sort();
  for (const name of names) {
    const r = readRecord(host, dirs, name);
    if (!r.present) continue;
    if (!r.record) {
      unreadable.push(name);
      continue;
    }
    const image = r.record.user.image as { ref?: unknown; reference?: unknown } | undefined;
    const ref = typeof image?.ref === 'string' ? image.ref : typeof image?.reference === 'string' ? image.reference : undefined;
    const pin = r.record.spec.image;
    uses.push({ name, layers: r.record.spec.layers, ...(ref && { ref }), ...(pin && { pinned: pin.digest }) });
  }
  // The digest an auto-update may roll back to stays in the store until its window passes.
  for (const [name, s] of listAutoUpdates(host, dirs)) if (s.phase !== 'idle' && s.from) uses.push({ name, layers: [], pinned: s.from });
  return { uses, unreadable };
}
