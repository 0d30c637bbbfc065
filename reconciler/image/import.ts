import { statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Host } from '../host/host.js';
import type { InstanceDirs } from '../state/layout.js';
import { extractLayoutArchive } from './archive.js';
import { ImageError } from './errors.js';
import { collectUnusedLayers } from './remove.js';
import { CONTAINERD_NAME_ANNOTATION, OciLayout, REF_NAME_ANNOTATION, selectEntry, type Descriptor } from './layout.js';
import { completeRef, isRef, isTag } from './ref.js';
import {
  cleanTmp,
  imageStorePaths,
  layerDir,
  lockStore,
  makeTmpDir,
  readLayerInfo,
  readRefs,
  writeRefs,
  type LayerInfo,
  type RefEntry,
  STORE_VERSION,
  writeManifestRecord,
} from './store.js';
import { canDecompress, unpackLayer } from './unpack.js';

/** What `pocker image import` is asked to do. */
export interface ImportOptions {
  /** An OCI layout directory or a tar archive of one, as given. */
  source: string;
  dirs: InstanceDirs;
  /** Reference to store the image under (`NAME[:TAG]`), instead of the layout's annotation. */
  name?: string;
  /** Which index.json entry to import (its ref.name annotation or digest) when there are several. */
  select?: string;
  /** Progress lines. */
  progress?: (line: string) => void;
}

/** What one layer of an import did. */
export interface ImportedLayer {
  diffId: string;
  /** Bytes of the uncompressed tar. */
  size: number;
  /** Already in the store (unpacked by an earlier import): not unpacked again. */
  reused: boolean;
  /** Time to verify and unpack it. */
  ms: number;
}

/** The outcome of an import. */
export interface ImportResult {
  ref: string;
  manifest: string;
  config: string;
  layers: ImportedLayer[];
  size: number;
  /** Manifest digest the ref named before, when the import replaced another image. */
  replaced?: string;
  /** Layers no reference or container used any more, removed. */
  removedLayers: string[];
  ms: number;
}

/**
 * The reference an imported image is stored under: `name` (given `NAME` alone, the tag of the
 * entry's ref.name annotation, or `latest`); otherwise the entry's `io.containerd.image.name`, or
 * its ref.name when that is a whole `NAME:TAG`. An annotation holding only a tag (as skopeo's
 * `oci:DIR:TAG` writes) needs a name.
 */
export function chooseRef(entry: Descriptor, name: string | undefined, image: string): string {
  const refName = entry.annotations?.[REF_NAME_ANNOTATION];
  const full = entry.annotations?.[CONTAINERD_NAME_ANNOTATION];
  if (name !== undefined) {
    const tag = refName && isTag(refName) ? refName : refName && isRef(refName) ? refName.slice(refName.lastIndexOf(':') + 1) : 'latest';
    const r = completeRef(name, tag);
    if ('error' in r) throw new ImageError('IMAGE_LAYOUT', `--name: ${r.error}`, { image });
    return r.ref;
  }
  if (full !== undefined && isRef(full)) return full;
  if (refName !== undefined && isRef(refName)) return refName;
  if (refName !== undefined && isTag(refName)) {
    throw new ImageError(
      'IMAGE_LAYOUT',
      `image ${image}: index.json names it only by the tag "${refName}": give it a name with --name NAME (keeps the tag) or --name NAME:TAG`,
      { image },
    );
  }
  throw new ImageError(
    'IMAGE_LAYOUT',
    `image ${image}: index.json gives it no reference name${refName !== undefined ? ` ("${refName}" is none)` : ''}: give one with --name NAME:TAG`,
    { image },
  );
}

/**
 * Imports an image from an OCI layout (directory or tar archive) into the data dir's store.
 * Every digest is verified (manifest, config, each blob against its descriptor, each uncompressed
 * layer against the config's diff_ids). Each layer is unpacked once, into a temporary directory
 * renamed into place by its diff_id only when complete; the reference is written last. A failed or
 * killed import leaves nothing in place (its temporary directories are removed now or by the next
 * import). Layers that neither a reference nor a container uses any more are removed.
 */
export async function importImage(host: Host, opts: ImportOptions): Promise<ImportResult> {
  const t0 = performance.now();
  const paths = imageStorePaths(opts.dirs.dataDir);
  const say = opts.progress ?? (() => {});
  const release = await lockStore(host, paths);
  try {
    const stale = cleanTmp(host, paths);
    if (stale.length) say(`removed ${stale.length} leftover(s) of an interrupted import or removal`);
    let st;
    try {
      st = statSync(opts.source);
    } catch (e) {
      throw new ImageError(
        'IMAGE_LAYOUT',
        `${opts.source}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`,
        { path: opts.source, cause: e },
      );
    }
    let dir = opts.source;
    if (!st.isDirectory()) {
      dir = makeTmpDir(host, paths, 'archive');
      say(`reading archive ${opts.source}`);
      await extractLayoutArchive(opts.source, dir, opts.source);
    }
    const entry = selectEntry(OciLayout.open(dir, opts.source).index(), opts.source, opts.select);
    const ref = chooseRef(entry, opts.name, opts.source);
    const layout = OciLayout.open(dir, ref);
    const image = layout.resolve(entry);
    for (const l of image.layers) {
      if (!canDecompress(l.compression) && !readLayerInfo(host, paths, l.diffId)) {
        throw new ImageError(
          'IMAGE_UNSUPPORTED',
          `image ${ref}: layer ${l.diffId} is ${l.compression}-compressed (${l.blob.mediaType}) and this Node (${process.version}) cannot decompress it (zstd needs Node 22.15 or later)`,
          { image: ref, digest: l.blob.digest },
        );
      }
    }
    const layers: ImportedLayer[] = [];
    const pending = new Map<string, string>();
    for (const [i, l] of image.layers.entries()) {
      const t = performance.now();
      const have = readLayerInfo(host, paths, l.diffId);
      const staged = pending.get(l.diffId);
      if (have || staged) {
        layers.push({
          diffId: l.diffId,
          size: have?.size ?? layers.find((x) => x.diffId === l.diffId)!.size,
          reused: true,
          ms: performance.now() - t,
        });
        continue;
      }
      say(`layer ${i + 1}/${image.layers.length} ${l.diffId}: verifying ${l.blob.digest} (${l.blob.size} bytes)`);
      const blob = await layout.verifyBlob(l.blob, `layer ${i + 1}`);
      const tmp = makeTmpDir(host, paths, 'layer');
      const root = join(tmp, 'root');
      host.mkdir(root, 0o755);
      host.chmod(root, 0o755);
      const stats = await unpackLayer(blob, l.compression, l.diffId, root, ref);
      const info: LayerInfo = { diffId: l.diffId, size: stats.tarBytes, entries: stats.entries, unpackedAtMs: Date.now() };
      host.writeFileAtomic(join(tmp, 'layer.json'), `${JSON.stringify(info)}\n`, 0o600);
      pending.set(l.diffId, tmp);
      layers.push({ diffId: l.diffId, size: stats.tarBytes, reused: false, ms: performance.now() - t });
      say(`layer ${i + 1}/${image.layers.length} ${l.diffId}: ${stats.entries} entries, ${stats.tarBytes} bytes unpacked`);
    }
    if (pending.size) host.syncFilesystem(paths.root);
    for (const [diffId, tmp] of pending) {
      const dest = layerDir(paths, diffId);
      host.mkdir(dirname(dest), 0o700);
      if (host.lkind(dest) !== null) host.rename(dest, join(makeTmpDir(host, paths, 'broken'), 'layer'));
      host.rename(tmp, dest);
    }
    writeManifestRecord(host, paths, {
      version: STORE_VERSION,
      manifest: image.manifestDigest,
      config: image.configDigest,
      layers: image.layers.map((l) => l.diffId),
      size: sumUnique(layers),
      imageConfig: image.imageConfig,
      source: opts.source,
      storedAtMs: Date.now(),
    });
    const refs = readRefs(host, paths);
    const replaced = refs.refs[ref]?.manifest;
    const record: RefEntry = {
      manifest: image.manifestDigest,
      config: image.configDigest,
      layers: image.layers.map((l) => l.diffId),
      size: sumUnique(layers),
      importedAtMs: Date.now(),
      source: opts.source,
    };
    refs.refs[ref] = record;
    writeRefs(host, paths, refs);
    const removedLayers = collectUnusedLayers(host, paths, opts.dirs).removed;
    cleanTmp(host, paths);
    return {
      ref,
      manifest: record.manifest,
      config: record.config,
      layers,
      size: record.size,
      ...(replaced && replaced !== record.manifest && { replaced }),
      removedLayers,
      ms: performance.now() - t0,
    };
  } catch (e) {
    cleanTmp(host, paths);
    throw e;
  } finally {
    release();
  }
}

function sumUnique(layers: ImportedLayer[]): number {
  return [...new Map(layers.map((l) => [l.diffId, l.size])).values()].reduce((a, b) => a + b, 0);
}
