import type { HostReader } from '../host/host.js';
import type { ImageResolver } from '../spec/imageRef.js';
import { ImageError } from './errors.js';
import { imageStorePaths, layerTree, readLayerInfo, readRefs, type RefsFile } from './store.js';

/**
 * The resolver a controller gives the spec loader: looks references up in the data dir's image
 * store (its refs file read once, on the first reference), and checks every layer is in place.
 */
export function imageResolver(host: HostReader, dataDir: string): ImageResolver {
  const paths = imageStorePaths(dataDir);
  let refs: RefsFile | ImageError | undefined;
  const present = new Map<string, boolean>();
  return (ref) => {
    if (refs === undefined) {
      try {
        refs = readRefs(host, paths);
      } catch (e) {
        refs = e instanceof ImageError ? e : new ImageError('IMAGE_STORE', (e as Error).message, { cause: e });
      }
    }
    if (refs instanceof ImageError) return { error: `image ref "${ref}": ${refs.message}` };
    const entry = refs.refs[ref];
    if (!entry) return null;
    for (const l of entry.layers) {
      if (!present.has(l)) present.set(l, readLayerInfo(host, paths, l) !== null);
      if (!present.get(l))
        return { error: `image ref "${ref}": its layer ${l} is missing from the image store ${paths.root}: pocker image import it again` };
    }
    return { digest: entry.manifest, layers: entry.layers.map((l) => layerTree(paths, l)) };
  };
}
