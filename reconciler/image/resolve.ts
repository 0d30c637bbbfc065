import type { HostReader } from '../host/host.js';
import type { ImageQuery, ImageResolver, ResolvedImageRef } from '../spec/imageRef.js';
import { containerPaths } from '../state/layout.js';
import { parseContainerRecord } from '../state/records.js';
import { ImageError } from './errors.js';
import { storeNamesOf } from './names.js';
import {
  hasAllLayers,
  imageStorePaths,
  layerTree,
  readLayerInfo,
  readManifestRecord,
  readRefs,
  type RefEntry,
  type RefsFile,
} from './store.js';

/**
 * The resolver a controller gives the spec loader. Imported references are looked up in the data
 * dir's image store (its refs file read once, on the first reference), every layer checked in
 * place. A registry image resolves to the digest its container is pinned to (its record's), while
 * the store has it; else to what the store holds under the reference (or its short Docker name,
 * as an import with --name wrote it); else it is to be pulled. `ignorePins`: containers whose pin
 * is not used (`pocker image update` resolves their tags anew); `forcePins`: containers pinned to
 * another digest than their record's (an auto-update, a rollback).
 */
export function imageResolver(
  host: HostReader,
  dataDir: string,
  o: { ignorePins?: ReadonlySet<string>; forcePins?: ReadonlyMap<string, string> } = {},
): ImageResolver {
  const paths = imageStorePaths(dataDir);
  let refs: RefsFile | ImageError | undefined;
  const present = new Map<string, boolean>();
  const layersPresent = (layers: readonly string[]): boolean =>
    layers.every((l) => {
      if (!present.has(l)) present.set(l, readLayerInfo(host, paths, l) !== null);
      return present.get(l)!;
    });
  const refsFile = (): RefsFile | ImageError => {
    if (refs === undefined) {
      try {
        refs = readRefs(host, paths);
      } catch (e) {
        refs = e instanceof ImageError ? e : new ImageError('IMAGE_STORE', (e as Error).message, { cause: e });
      }
    }
    return refs;
  };
  const fromManifest = (digest: string): ResolvedImageRef | null => {
    const m = readManifestRecord(host, paths, digest);
    if (!m || !hasAllLayers(host, paths, m.layers)) return null;
    return { digest, layers: m.layers.map((l) => layerTree(paths, l)), config: m.imageConfig };
  };
  const fromEntry = (entry: RefEntry): ResolvedImageRef => {
    const m = readManifestRecord(host, paths, entry.manifest);
    return { digest: entry.manifest, layers: entry.layers.map((l) => layerTree(paths, l)), config: m?.imageConfig ?? null };
  };
  const pinOf = (container: string, reference: string): string | null => {
    const forced = o.forcePins?.get(container);
    if (forced) return forced;
    if (o.ignorePins?.has(container)) return null;
    const text = host.readFile(containerPaths({ stateDir: '', dataDir, cgroupParent: '' }, container).record);
    const rec = text ? parseContainerRecord(text) : null;
    const image = rec && 'value' in rec ? rec.value.spec.image : null;
    return image && image.reference === reference ? image.digest : null;
  };
  return (q: ImageQuery) => {
    const r = refsFile();
    if (q.kind === 'store') {
      if (r instanceof ImageError) return { error: `image ref "${q.ref}": ${r.message}` };
      const entry = r.refs[q.ref];
      if (!entry) return null;
      const missing = entry.layers.find((l) => !layersPresent([l]));
      if (missing)
        return {
          error: `image ref "${q.ref}": its layer ${missing} is missing from the image store ${paths.root}: pocker image import it again`,
        };
      return fromEntry(entry);
    }
    const pinned = pinOf(q.container, q.reference);
    if (pinned) return fromManifest(pinned) ?? { pull: `${q.reference.replace(/[:@][^/]*$/, '')}@${pinned}` };
    const at = q.reference.indexOf('@');
    if (at >= 0) return fromManifest(q.reference.slice(at + 1)) ?? { pull: q.reference };
    if (r instanceof ImageError) return { error: `image ${q.reference}: ${r.message}` };
    for (const name of storeNamesOf(q.reference)) {
      const entry = r.refs[name];
      if (entry && layersPresent(entry.layers)) return fromEntry(entry);
    }
    return { pull: q.reference };
  };
}
