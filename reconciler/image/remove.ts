import type { Host, HostReader } from '../host/host.js';
import type { InstanceDirs } from '../state/layout.js';
import { ImageError } from './errors.js';
import {
  cleanTmp,
  imageStorePaths,
  layerTree,
  lockStore,
  manifestPath,
  readRefs,
  storedManifests,
  removeLayer,
  storedLayers,
  writeRefs,
  type ImageStorePaths,
  type RefEntry,
} from './store.js';
import { containerImageUse } from './usage.js';

/**
 * Removes the layers of the store that no reference names and no container record of the instance
 * uses, and the manifest records that no reference names and no container is pinned to (only
 * while holding the store lock). When a container record cannot be read, nothing is removed: its
 * layers cannot be told.
 */
export function collectUnusedLayers(host: Host, paths: ImageStorePaths, dirs: InstanceDirs): { removed: string[]; keptBecause?: string } {
  const refs = readRefs(host, paths);
  const named = new Set(Object.values(refs.refs).flatMap((r) => r.layers));
  const { uses, unreadable } = containerImageUse(host, dirs);
  if (unreadable.length) return { removed: [], keptBecause: `the records of ${unreadable.join(', ')} cannot be read` };
  const used = new Set(uses.flatMap((u) => u.layers));
  const keptManifests = new Set([...Object.values(refs.refs).map((r) => r.manifest), ...uses.flatMap((u) => (u.pinned ? [u.pinned] : []))]);
  for (const m of storedManifests(host, paths)) {
    if (keptManifests.has(m.manifest)) m.layers.forEach((l) => named.add(l));
    else host.removeFile(manifestPath(paths, m.manifest));
  }
  const removed: string[] = [];
  for (const diffId of storedLayers(host, paths)) {
    if (named.has(diffId) || used.has(layerTree(paths, diffId))) continue;
    removeLayer(host, paths, diffId);
    removed.push(diffId);
  }
  return { removed };
}

/** What `pocker image rm` did. */
export interface RemoveResult {
  ref: string;
  removedLayers: string[];
  /** Why unused layers were kept, when they were. */
  keptBecause?: string;
}

/**
 * Removes a reference, then every layer no other reference and no container uses. Refused while a
 * container of the instance names the reference in its spec or runs on a layer that would go.
 */
export async function removeImage(host: Host, ref: string, dirs: InstanceDirs): Promise<RemoveResult> {
  const paths = imageStorePaths(dirs.dataDir);
  const release = await lockStore(host, paths);
  try {
    cleanTmp(host, paths);
    const refs = readRefs(host, paths);
    const entry = refs.refs[ref];
    if (!entry) {
      const known = Object.keys(refs.refs).sort();
      throw new ImageError(
        'IMAGE_NOT_FOUND',
        `image ${ref} is not in the store ${paths.root}${known.length ? ` (it has: ${known.join(', ')})` : ' (it is empty)'}`,
        { image: ref },
      );
    }
    const others = new Set(
      Object.entries(refs.refs)
        .filter(([r]) => r !== ref)
        .flatMap(([, e]) => e.layers),
    );
    const going = new Set(entry.layers.filter((l) => !others.has(l)).map((l) => layerTree(paths, l)));
    const { uses } = containerImageUse(host, dirs);
    const users = uses.filter((u) => u.ref === ref || u.layers.some((l) => going.has(l))).map((u) => u.name);
    if (users.length) {
      throw new ImageError(
        'IMAGE_IN_USE',
        `image ${ref} is in use by container${users.length > 1 ? 's' : ''} ${users.join(', ')}: remove ${users.length > 1 ? 'them' : 'it'} first (pocker down, or delete the spec and reconcile)`,
        { image: ref },
      );
    }
    delete refs.refs[ref];
    writeRefs(host, paths, refs);
    const gc = collectUnusedLayers(host, paths, dirs);
    cleanTmp(host, paths);
    return { ref, removedLayers: gc.removed, ...(gc.keptBecause && { keptBecause: gc.keptBecause }) };
  } finally {
    release();
  }
}

/** One row of `pocker image ls`. */
export interface ImageListing extends RefEntry {
  ref: string;
}

/** Every reference in the data dir's store, sorted by reference. */
export function listImages(host: HostReader, dataDir: string): ImageListing[] {
  const refs = readRefs(host, imageStorePaths(dataDir));
  return Object.entries(refs.refs)
    .map(([ref, e]) => ({ ref, ...e }))
    .sort((a, b) => (a.ref < b.ref ? -1 : a.ref > b.ref ? 1 : 0));
}
