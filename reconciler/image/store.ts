import { builtins } from '../builtins.js';
import { dirname, join, resolve } from 'node:path';
import type { Host, HostReader } from '../host/host.js';
import type { ImageConfig } from '../spec/imageConfig.js';
import { parseDigest } from '../spec/digest.js';
import { ImageError } from './errors.js';

/** Store file format version. */
export const STORE_VERSION = 1;

/** Where one data dir keeps its images. */
export interface ImageStorePaths {
  /** `<dataDir>/images` (mode 0700: layers hold images' setuid files). */
  root: string;
  /** References: `refs.json`. */
  refs: string;
  /** Unpacked layers: `layers/<algorithm>/<hex>/`, the tree in `root/`, facts in `layer.json`. */
  layers: string;
  /** Imports in progress and removals: emptied by every import and removal. */
  tmp: string;
  /** flock taken by imports and removals. */
  lock: string;
  /** What the store knows of each manifest, by digest: `manifests/<algorithm>/<hex>.json`. */
  manifests: string;
}

/** Paths of the image store under a data dir (made absolute: layer paths go into overlay options). */
export function imageStorePaths(dataDir: string): ImageStorePaths {
  const root = join(resolve(dataDir), 'images');
  return {
    root,
    refs: join(root, 'refs.json'),
    layers: join(root, 'layers'),
    tmp: join(root, 'tmp'),
    lock: join(root, '.lock'),
    manifests: join(root, 'manifests'),
  };
}

/** Directory of a layer in the store, named by its diff_id (the digest of its uncompressed tar). */
export function layerDir(paths: ImageStorePaths, diffId: string): string {
  const d = parseDigest(diffId);
  if (!d) throw new ImageError('IMAGE_STORE', `${JSON.stringify(diffId)} is not a layer digest`, { digest: diffId });
  return join(paths.layers, d.algorithm, d.hex);
}

/** The unpacked tree of a layer: what becomes an overlay lowerdir. */
export function layerTree(paths: ImageStorePaths, diffId: string): string {
  return join(layerDir(paths, diffId), 'root');
}

/** What the store records about one reference. */
export interface RefEntry {
  /** Digest of the image manifest. */
  manifest: string;
  config: string;
  /** diff_ids of the layers, bottom first. */
  layers: string[];
  /** Uncompressed size of all layers (bytes of their tar streams). */
  size: number;
  importedAtMs: number;
  /** What it was imported from (the path given) or pulled from (`registry REF`). */
  source: string;
  /** The digest the registry's reference named (an index's, for a multi-platform image) when it was pulled. */
  repoDigest?: string;
}

/**
 * What the store keeps of one manifest, whatever name it is known by: written by every import and
 * pull, read when a container is pinned to a digest (its tag may have moved since).
 */
export interface ManifestRecord {
  version: typeof STORE_VERSION;
  manifest: string;
  config: string;
  /** diff_ids, bottom first. */
  layers: string[];
  size: number;
  /** The runtime defaults of the image config. */
  imageConfig: ImageConfig;
  /** Where it came from: the import path, or `registry REF`. */
  source: string;
  storedAtMs: number;
}

/** Facts about an unpacked layer (`layer.json`, written before the layer is renamed into place). */
export interface LayerInfo {
  diffId: string;
  /** Bytes of the uncompressed tar stream. */
  size: number;
  entries: number;
  unpackedAtMs: number;
}

/** The refs file. */
export interface RefsFile {
  version: typeof STORE_VERSION;
  refs: Record<string, RefEntry>;
}

function isRefEntry(v: unknown): v is RefEntry {
  const e = v as RefEntry;
  return (
    v !== null &&
    typeof v === 'object' &&
    parseDigest(e.manifest) !== null &&
    parseDigest(e.config) !== null &&
    Array.isArray(e.layers) &&
    e.layers.every((l) => parseDigest(l) !== null) &&
    Number.isSafeInteger(e.size) &&
    Number.isSafeInteger(e.importedAtMs) &&
    typeof e.source === 'string' &&
    (e.repoDigest === undefined || parseDigest(e.repoDigest) !== null)
  );
}

/** Reads the refs file; a missing one is an empty store, an unreadable one an error. */
export function readRefs(host: HostReader, paths: ImageStorePaths): RefsFile {
  let text: string | null;
  try {
    text = host.readFile(paths.refs);
  } catch (e) {
    throw new ImageError('IMAGE_STORE', `cannot read the image store's ${paths.refs}: ${(e as Error).message}`, {
      path: paths.refs,
      cause: e,
    });
  }
  if (text === null) return { version: STORE_VERSION, refs: {} };
  let v: RefsFile;
  try {
    v = JSON.parse(text) as RefsFile;
  } catch (e) {
    throw new ImageError('IMAGE_STORE', `the image store's ${paths.refs} is not valid JSON: ${(e as Error).message}`, {
      path: paths.refs,
      cause: e,
    });
  }
  if (v?.version !== STORE_VERSION || v.refs === null || typeof v.refs !== 'object' || !Object.values(v.refs).every(isRefEntry)) {
    throw new ImageError('IMAGE_STORE', `the image store's ${paths.refs} has an unknown format (version ${JSON.stringify(v?.version)})`, {
      path: paths.refs,
    });
  }
  return v;
}

/** Writes the refs file atomically and durably (the store outlives reboots). */
export function writeRefs(host: Host, paths: ImageStorePaths, refs: RefsFile): void {
  host.writeFileDurable(paths.refs, `${JSON.stringify(refs, null, 2)}\n`, 0o600);
}

/** Reads a layer's layer.json; null when the layer is not (completely) in the store. */
export function readLayerInfo(host: HostReader, paths: ImageStorePaths, diffId: string): LayerInfo | null {
  try {
    const info = JSON.parse(host.readFile(join(layerDir(paths, diffId), 'layer.json')) ?? 'null') as LayerInfo | null;
    return info?.diffId === diffId ? info : null;
  } catch {
    return null;
  }
}

/** Where a manifest's record lives. */
export function manifestPath(paths: ImageStorePaths, digest: string): string {
  const d = parseDigest(digest);
  if (!d) throw new ImageError('IMAGE_STORE', `${JSON.stringify(digest)} is not a manifest digest`, { digest });
  return join(paths.manifests, d.algorithm, `${d.hex}.json`);
}

/** A manifest's record; null when the store has none (or an unreadable one). */
export function readManifestRecord(host: HostReader, paths: ImageStorePaths, digest: string): ManifestRecord | null {
  try {
    const m = JSON.parse(host.readFile(manifestPath(paths, digest)) ?? 'null') as ManifestRecord | null;
    return m?.version === STORE_VERSION && m.manifest === digest && Array.isArray(m.layers) ? m : null;
  } catch {
    return null;
  }
}

/** Writes a manifest's record (atomically, durably). */
export function writeManifestRecord(host: Host, paths: ImageStorePaths, m: ManifestRecord): void {
  const path = manifestPath(paths, m.manifest);
  host.mkdir(dirname(path), 0o700);
  host.writeFileDurable(path, `${JSON.stringify(m)}\n`, 0o600);
}

/** Every manifest record in the store. */
export function storedManifests(host: HostReader, paths: ImageStorePaths): ManifestRecord[] {
  const out: ManifestRecord[] = [];
  for (const alg of host.readDir(paths.manifests) ?? []) {
    for (const f of host.readDir(join(paths.manifests, alg)) ?? []) {
      const m = f.endsWith('.json') ? readManifestRecord(host, paths, `${alg}:${f.slice(0, -5)}`) : null;
      if (m) out.push(m);
    }
  }
  return out;
}

/** Whether every layer of a manifest is unpacked in the store. */
export function hasAllLayers(host: HostReader, paths: ImageStorePaths, layers: readonly string[]): boolean {
  return layers.every((l) => readLayerInfo(host, paths, l) !== null);
}

/** Creates the store's directories (the root 0700: layers hold images' setuid binaries). */
export function ensureStore(host: Host, paths: ImageStorePaths): void {
  host.mkdir(dirname(paths.root), 0o700);
  for (const dir of [paths.root, paths.layers, paths.tmp, paths.manifests]) host.mkdir(dir, 0o700);
}

/**
 * Takes the store's lock (imports and removals are serialized; readers need none: every file
 * they read is replaced by rename). Resolves to the release function.
 */
export async function lockStore(host: Host, paths: ImageStorePaths, waitMs = 60_000): Promise<() => void> {
  ensureStore(host, paths);
  try {
    return await host.lock(paths.lock, waitMs);
  } catch (e) {
    if ((e as { code?: string }).code !== 'LOCK_TIMEOUT') throw e;
    throw new ImageError(
      'IMAGE_STORE',
      `the image store ${paths.root} is locked by another import or removal (waited ${waitMs / 1000} s)`,
      { path: paths.lock, cause: e },
    );
  }
}

/** A fresh directory under tmp (only while holding the lock). */
export function makeTmpDir(host: Host, paths: ImageStorePaths, label: string): string {
  const dir = join(paths.tmp, `${label}-${process.pid}-${builtins.crypto().randomBytes(6).toString('hex')}`);
  host.mkdir(dir, 0o700);
  return dir;
}

/**
 * Removes everything under tmp: what an interrupted import or removal left (only while holding
 * the lock, so no running import owns any of it). Returns what was removed.
 */
export function cleanTmp(host: Host, paths: ImageStorePaths): string[] {
  const left = host.readDir(paths.tmp) ?? [];
  for (const e of left) host.removeTree(join(paths.tmp, e));
  return left;
}

/** Removes a layer from the store: renamed into tmp first, so no half-deleted layer is ever in place. */
export function removeLayer(host: Host, paths: ImageStorePaths, diffId: string): void {
  const dir = layerDir(paths, diffId);
  if (host.lkind(dir) === null) return;
  const dest = join(makeTmpDir(host, paths, 'rm'), 'layer');
  host.rename(dir, dest);
  host.removeTree(dirname(dest));
}

/** diff_ids of every layer in the store. */
export function storedLayers(host: HostReader, paths: ImageStorePaths): string[] {
  const out: string[] = [];
  for (const alg of host.readDir(paths.layers) ?? []) {
    for (const hex of host.readDir(join(paths.layers, alg)) ?? []) {
      const d = `${alg}:${hex}`;
      if (parseDigest(d)) out.push(d);
    }
  }
  return out;
}
