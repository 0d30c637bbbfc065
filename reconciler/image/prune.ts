import type { Host } from '../host/host.js';
import type { InstanceDirs } from '../state/layout.js';
import { storeNamesOf } from './names.js';
import { collectUnusedLayers } from './remove.js';
import { cleanTmp, imageStorePaths, lockStore, readRefs, writeRefs } from './store.js';
import { containerImageUse } from './usage.js';

/** What `pocker image prune` did. */
export interface PruneResult {
  /** References removed from the store. */
  removedRefs: string[];
  /** References kept because a container or a spec uses them. */
  keptRefs: string[];
  removedLayers: string[];
  keptBecause?: string;
}

/**
 * Removes every reference that no container of the instance runs or names and no spec names
 * (`specRefs`: the image references and store names the known spec dirs give), then the layers
 * and manifests nothing uses any more. A reference is in use under any of its names (its Docker
 * short form too). Refuses nothing in use; when a record cannot be read, removes nothing.
 */
export async function pruneImages(host: Host, dirs: InstanceDirs, specRefs: ReadonlySet<string>): Promise<PruneResult> {
  const paths = imageStorePaths(dirs.dataDir);
  const release = await lockStore(host, paths);
  try {
    cleanTmp(host, paths);
    const { uses, unreadable } = containerImageUse(host, dirs);
    if (unreadable.length)
      return { removedRefs: [], keptRefs: [], removedLayers: [], keptBecause: `the records of ${unreadable.join(', ')} cannot be read` };
    const used = new Set<string>();
    for (const r of [...specRefs, ...uses.flatMap((u) => (u.ref ? [u.ref] : []))]) for (const n of storeNamesOf(r)) used.add(n);
    const usedManifests = new Set(uses.flatMap((u) => (u.pinned ? [u.pinned] : [])));
    const refs = readRefs(host, paths);
    const removedRefs: string[] = [];
    const keptRefs: string[] = [];
    for (const [name, entry] of Object.entries(refs.refs)) {
      if (used.has(name) || usedManifests.has(entry.manifest)) keptRefs.push(name);
      else {
        delete refs.refs[name];
        removedRefs.push(name);
      }
    }
    if (removedRefs.length) writeRefs(host, paths, refs);
    const gc = collectUnusedLayers(host, paths, dirs);
    return {
      removedRefs: removedRefs.sort(),
      keptRefs: keptRefs.sort(),
      removedLayers: gc.removed,
      ...(gc.keptBecause && { keptBecause: gc.keptBecause }),
    };
  } finally {
    cleanTmp(host, paths);
    release();
  }
}
