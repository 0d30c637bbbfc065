import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { parseContainerRecord } from '../state/records.js';
import { containerPaths, type InstanceDirs } from '../state/layout.js';

/** What one container record says about the image it runs. */
export interface ContainerImageUse {
  name: string;
  /** Layer directories of its effective spec (overlay lowerdirs). */
  layers: string[];
  /** The image reference of its spec, when it names one. */
  ref?: string;
}

/** Image use of every container of the instance, and the containers whose record cannot be read. */
export function containerImageUse(dirs: InstanceDirs): { uses: ContainerImageUse[]; unreadable: string[] } {
  const uses: ContainerImageUse[] = [];
  const unreadable: string[] = [];
  const names = existsSync(dirs.stateDir) ? readdirSync(dirs.stateDir).filter((n) => !n.startsWith('.')) : [];
  for (const name of names) {
    const path = containerPaths(dirs, name).record;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') continue;
      unreadable.push(name);
      continue;
    }
    const r = parseContainerRecord(text);
    if ('problem' in r) {
      unreadable.push(name);
      continue;
    }
    const image = r.value.user.image as { ref?: unknown } | undefined;
    uses.push({ name, layers: r.value.spec.layers, ...(typeof image?.ref === 'string' && { ref: image.ref }) });
  }
  return { uses, unreadable };
}
