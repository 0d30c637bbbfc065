import { join } from 'node:path';
import type { Host } from '../host/host.js';
import { formatReference, parseReference, type ImageReference } from '../spec/imageReference.js';
import type { InstanceDirs } from '../state/layout.js';
import { ImageError } from './errors.js';
import { interpretImage, manifestConfig, type ManifestLayer } from './layout.js';
import type { RegistryClient, RemoteImage } from './registry/client.js';
import { collectUnusedLayers } from './remove.js';
import {
  cleanTmp,
  hasAllLayers,
  imageStorePaths,
  layerDir,
  lockStore,
  makeTmpDir,
  readLayerInfo,
  readManifestRecord,
  readRefs,
  STORE_VERSION,
  writeManifestRecord,
  writeRefs,
  type ImageStorePaths,
  type LayerInfo,
} from './store.js';
import { canDecompress, unpackLayer } from './unpack.js';

/** Layers downloaded at once by default. */
export const DEFAULT_PULL_CONCURRENCY = 3;

/** What a pull reports as it goes (one event per change; the CLI draws them). */
export type PullEvent =
  | { kind: 'resolved'; reference: string; manifest: string; layers: number; servedBy: string }
  | {
      kind: 'layer';
      index: number;
      diffId: string;
      blob: string;
      size: number;
      bytes: number;
      state: 'present' | 'downloading' | 'done' | 'retrying';
    };

/** How to pull. */
export interface PullOptions {
  client: RegistryClient;
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
  onEvent?: (e: PullEvent) => void;
}

/** What one layer of a pull did. */
export interface PulledLayer {
  diffId: string;
  /** Bytes downloaded (the compressed blob); 0 when the store had it. */
  downloaded: number;
  /** Bytes of the uncompressed tar. */
  size: number;
  reused: boolean;
  ms: number;
}

/** The outcome of a pull. */
export interface PullResult {
  /** The reference as asked, canonical. */
  reference: string;
  manifest: string;
  /** What the registry's reference named (an index, for a multi-platform image). */
  repoDigest?: string;
  layers: PulledLayer[];
  size: number;
  /** Manifest the store's reference named before, when this pull moved it. */
  replaced?: string;
  removedLayers: string[];
  ms: number;
}

/** How often a layer download is started again from the first byte (a registry that cannot resume). */
const LAYER_RESTARTS = 2;

/**
 * Pulls an image from its registry into the data dir's store, as `image import` does from a
 * layout: the manifest (an index resolved to this host's platform) and config verified against
 * their digests; each layer that is not in the store yet downloaded (a few at once), hashed as it
 * streams and unpacked into the store's temporary area as it arrives, and discarded whole when its
 * blob or diff_id digest does not match (verify before commit); the layers renamed into place once
 * all are complete and synced; the manifest record and the reference written last. A failed or
 * killed pull leaves nothing in place. The store's lock is held throughout.
 */
export async function pullImage(host: Host, dirs: InstanceDirs, reference: string, o: PullOptions): Promise<PullResult> {
  const t0 = performance.now();
  const parsed = parseReference(reference);
  if ('error' in parsed) throw new ImageError('IMAGE_LAYOUT', `image ${reference}: ${parsed.error}`, { image: reference });
  const ref = formatReference(parsed);
  const paths = imageStorePaths(dirs.dataDir);
  const release = await lockStore(host, paths);
  try {
    cleanTmp(host, paths);
    const remote = await o.client.resolve(parsed);
    const image = interpret(remote, ref);
    o.onEvent?.({
      kind: 'resolved',
      reference: ref,
      manifest: image.manifestDigest,
      layers: image.layers.length,
      servedBy: remote.servedBy,
    });
    const have = readManifestRecord(host, paths, image.manifestDigest);
    const layers =
      have && hasAllLayers(host, paths, have.layers)
        ? presentLayers(host, paths, image.layers)
        : await fetchLayers(host, paths, remote, image.layers, ref, o);
    const size = sumUnique(layers);
    if (!have)
      writeManifestRecord(host, paths, {
        version: STORE_VERSION,
        manifest: image.manifestDigest,
        config: image.configDigest,
        layers: image.layers.map((l) => l.diffId),
        size,
        imageConfig: image.imageConfig,
        source: `registry ${ref}`,
        storedAtMs: Date.now(),
      });
    const refs = readRefs(host, paths);
    const name = storeName(parsed);
    const current = refs.refs[name];
    const replaced = current?.manifest;
    const unchanged = !!have && replaced === image.manifestDigest && current?.repoDigest === remote.indexDigest;
    if (!unchanged) {
      refs.refs[name] = {
        manifest: image.manifestDigest,
        config: image.configDigest,
        layers: image.layers.map((l) => l.diffId),
        size,
        importedAtMs: Date.now(),
        source: `registry ${ref}`,
        ...(remote.indexDigest && { repoDigest: remote.indexDigest }),
      };
      writeRefs(host, paths, refs);
    }
    const removedLayers = unchanged ? [] : collectUnusedLayers(host, paths, dirs).removed;
    return {
      reference: ref,
      manifest: image.manifestDigest,
      ...(remote.indexDigest && { repoDigest: remote.indexDigest }),
      layers,
      size,
      ...(replaced && replaced !== image.manifestDigest && { replaced }),
      removedLayers,
      ms: performance.now() - t0,
    };
  } finally {
    cleanTmp(host, paths);
    release();
  }
}

/** The store name of a pulled reference: NAME:TAG, or NAME@DIGEST for a digest reference. */
function storeName(r: ImageReference): string {
  return formatReference(r.digest ? { registry: r.registry, repository: r.repository, digest: r.digest } : r);
}

function interpret(remote: RemoteImage, ref: string): ReturnType<typeof interpretImage> {
  let doc: Record<string, unknown>;
  let cfg: Record<string, unknown>;
  try {
    doc = JSON.parse(remote.manifestBytes.toString('utf8')) as Record<string, unknown>;
    cfg = JSON.parse(remote.config.bytes.toString('utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new ImageError(
      'IMAGE_LAYOUT',
      `image ${ref}: manifest ${remote.manifestDigest} or its config is not JSON: ${(e as Error).message}`,
      {
        image: ref,
        digest: remote.manifestDigest,
        cause: e,
      },
    );
  }
  const image = interpretImage(remote.manifestDigest, doc, manifestConfig(remote.manifestDigest, doc, ref), cfg, ref);
  for (const l of image.layers) {
    if (!canDecompress(l.compression)) {
      throw new ImageError(
        'IMAGE_UNSUPPORTED',
        `image ${ref}: layer ${l.blob.digest} is ${l.compression}-compressed and this Node (${process.version}) cannot decompress it (zstd needs Node 22.15 or later)`,
        { image: ref, digest: l.blob.digest },
      );
    }
  }
  return image;
}

function presentLayers(host: Host, paths: ImageStorePaths, layers: readonly ManifestLayer[]): PulledLayer[] {
  return layers.map((l) => ({
    diffId: l.diffId,
    downloaded: 0,
    size: readLayerInfo(host, paths, l.diffId)?.size ?? 0,
    reused: true,
    ms: 0,
  }));
}

/** Downloads and unpacks the layers the store lacks (concurrency at a time), then moves them into place together. */
async function fetchLayers(
  host: Host,
  paths: ImageStorePaths,
  remote: RemoteImage,
  layers: readonly ManifestLayer[],
  ref: string,
  o: PullOptions,
): Promise<PulledLayer[]> {
  const out: PulledLayer[] = new Array(layers.length);
  const staged = new Map<string, string>();
  const todo: number[] = [];
  layers.forEach((l, i) => {
    const info = readLayerInfo(host, paths, l.diffId);
    if (info || layers.findIndex((x) => x.diffId === l.diffId) !== i) {
      out[i] = { diffId: l.diffId, downloaded: 0, size: info?.size ?? 0, reused: true, ms: 0 };
      o.onEvent?.({
        kind: 'layer',
        index: i,
        diffId: l.diffId,
        blob: l.blob.digest,
        size: l.blob.size,
        bytes: l.blob.size,
        state: 'present',
      });
    } else todo.push(i);
  });
  let next = 0;
  let failed: unknown = null;
  const worker = async (): Promise<void> => {
    while (next < todo.length && !failed) {
      const i = todo[next++]!;
      try {
        const { dir, layer } = await fetchLayer(host, paths, remote, layers[i]!, i, ref, o);
        staged.set(layers[i]!.diffId, dir);
        out[i] = layer;
      } catch (e) {
        failed ??= e;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(o.concurrency ?? DEFAULT_PULL_CONCURRENCY, todo.length)) }, worker));
  if (failed) throw failed;
  for (const [i, l] of layers.entries())
    if (!out[i]) out[i] = { ...out[layers.findIndex((x) => x.diffId === l.diffId)]!, reused: true, downloaded: 0, ms: 0 };
  if (staged.size) host.syncFilesystem(paths.root);
  for (const [diffId, tmp] of staged) {
    const dest = layerDir(paths, diffId);
    host.mkdir(join(dest, '..'), 0o700);
    if (host.lkind(dest) !== null) host.rename(dest, join(makeTmpDir(host, paths, 'broken'), 'layer'));
    host.rename(tmp, dest);
  }
  return out;
}

/** One layer into a fresh temporary dir: the verified blob stream, decompressed, hashed and unpacked; started again from scratch when the registry cannot resume. */
async function fetchLayer(
  host: Host,
  paths: ImageStorePaths,
  remote: RemoteImage,
  l: ManifestLayer,
  index: number,
  ref: string,
  o: PullOptions,
): Promise<{ dir: string; layer: PulledLayer }> {
  const t = performance.now();
  for (let attempt = 0; ; attempt++) {
    const tmp = makeTmpDir(host, paths, 'layer');
    const root = join(tmp, 'root');
    host.mkdir(root, 0o755);
    host.chmod(root, 0o755);
    let bytes = 0;
    const event = (state: 'downloading' | 'done' | 'retrying'): void =>
      o.onEvent?.({ kind: 'layer', index, diffId: l.diffId, blob: l.blob.digest, size: l.blob.size, bytes, state });
    event('downloading');
    try {
      const blob = o.client.blob(remote, l.blob, (n) => {
        bytes = n;
        event('downloading');
      });
      const stats = await unpackLayer(blob, l.compression, l.diffId, root, ref);
      const info: LayerInfo = { diffId: l.diffId, size: stats.tarBytes, entries: stats.entries, unpackedAtMs: Date.now() };
      host.writeFileAtomic(join(tmp, 'layer.json'), `${JSON.stringify(info)}\n`, 0o600);
      bytes = l.blob.size;
      event('done');
      return {
        dir: tmp,
        layer: { diffId: l.diffId, downloaded: l.blob.size, size: stats.tarBytes, reused: false, ms: performance.now() - t },
      };
    } catch (e) {
      host.removeTree(tmp);
      const restart = e instanceof ImageError && e.code === 'REGISTRY_UNREACHABLE' && attempt < LAYER_RESTARTS;
      if (!restart) throw e;
      event('retrying');
    }
  }
}

function sumUnique(layers: PulledLayer[]): number {
  return [...new Map(layers.map((l) => [l.diffId, l.size])).values()].reduce((a, b) => a + b, 0);
}
