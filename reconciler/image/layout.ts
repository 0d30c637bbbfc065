import { closeSync, fstatSync, openSync, statSync } from 'node:fs';
import { readWhole } from '../host/readWhole.js';
import { join } from 'node:path';
import { digestFile, digestOf, formatDigest, parseDigest } from './digest.js';
import { parseImageConfig, type ImageConfig } from '../spec/imageConfig.js';
import { ImageError } from './errors.js';

/** Media types of manifests, indexes and configs the store reads (OCI, and Docker's v2 schema 2). */
export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
} as const;

/** How a layer blob is compressed. */
export type Compression = 'none' | 'gzip' | 'zstd';

/** Layer media types and their compression. */
export const LAYER_MEDIA_TYPES: Readonly<Record<string, Compression>> = {
  'application/vnd.oci.image.layer.v1.tar': 'none',
  'application/vnd.oci.image.layer.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.v1.tar+zstd': 'zstd',
  'application/vnd.oci.image.layer.nondistributable.v1.tar': 'none',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+gzip': 'gzip',
  'application/vnd.oci.image.layer.nondistributable.v1.tar+zstd': 'zstd',
  'application/vnd.docker.image.rootfs.diff.tar.gzip': 'gzip',
  'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip': 'gzip',
};

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const CONFIG_TYPES: readonly string[] = [MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig];

/** Largest JSON document (index, manifest, config) read from a layout. */
export const MAX_JSON_BYTES = 8 << 20;

/** Annotation naming an index.json entry (often only the tag). */
export const REF_NAME_ANNOTATION = 'org.opencontainers.image.ref.name';
/** Annotation with the full image name that containerd and `docker save` add. */
export const CONTAINERD_NAME_ANNOTATION = 'io.containerd.image.name';

/** An OCI content descriptor. */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: { architecture?: string; os?: string; variant?: string };
}

/** One layer of a manifest with what unpacking it needs. */
export interface ManifestLayer {
  blob: Descriptor;
  compression: Compression;
  /** Digest of the uncompressed tar (the config's rootfs.diff_ids entry). */
  diffId: string;
}

/** A manifest read and verified, with its config. */
export interface ResolvedImage {
  manifestDigest: string;
  configDigest: string;
  /** Bottom first. */
  layers: ManifestLayer[];
  /** The index.json entry it was found through. */
  entry: Descriptor;
  /** The runtime defaults of its config (Entrypoint, Cmd, Env, WorkingDir, User, StopSignal). */
  imageConfig: ImageConfig;
  architecture?: string;
  os?: string;
}

/** The GOARCH name of this host's CPU, as image platforms name it. */
export function hostArchitecture(): string {
  const map: Record<string, string> = {
    x64: 'amd64',
    arm64: 'arm64',
    arm: 'arm',
    ia32: '386',
    ppc64: 'ppc64le',
    s390x: 's390x',
    riscv64: 'riscv64',
    loong64: 'loong64',
  };
  return map[process.arch] ?? process.arch;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Checks the shape of a descriptor; what names where it was found. */
export function checkDescriptor(v: unknown, what: string, image: string): Descriptor {
  const bad = (why: string): never => {
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: ${what}: ${why}`, { image });
  };
  if (!isObject(v)) return bad('not a descriptor object');
  if (v.mediaType !== undefined && typeof v.mediaType !== 'string') bad('mediaType is not a string');
  if (!parseDigest(v.digest)) bad(`digest ${JSON.stringify(v.digest)} is not a sha256 or sha512 digest`);
  if (!Number.isSafeInteger(v.size) || (v.size as number) < 0) bad(`size ${JSON.stringify(v.size)} is not a byte count`);
  if (v.annotations !== undefined && (!isObject(v.annotations) || Object.values(v.annotations).some((a) => typeof a !== 'string')))
    bad('annotations are not a string map');
  if (v.platform !== undefined && !isObject(v.platform)) bad('platform is not an object');
  return v as unknown as Descriptor;
}

/** Reads at most max bytes of a file; throws when it is larger. */
function readCapped(path: string, max: number, image: string, what: string): Buffer {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: ${what} ${path}: ${code === 'ENOENT' ? 'missing' : code}`, {
      image,
      path,
      cause: e,
    });
  }
  try {
    const size = fstatSync(fd).size;
    if (size > max) throw new ImageError('IMAGE_LAYOUT', `image ${image}: ${what} ${path} is larger than ${max} bytes`, { image, path });
    return readWhole(fd, size);
  } finally {
    closeSync(fd);
  }
}

function parseJson(buf: Buffer, image: string, what: string, digest?: string): Record<string, unknown> {
  let v: unknown;
  try {
    v = JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: ${what} is not valid JSON: ${(e as Error).message}`, {
      image,
      ...(digest && { digest }),
      cause: e,
    });
  }
  if (!isObject(v))
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: ${what} is not a JSON object`, { image, ...(digest && { digest }) });
  return v;
}

/**
 * An OCI image layout in a directory (`oci-layout`, `index.json`, `blobs/<alg>/<hex>`), as
 * `skopeo copy ... oci:DIR`, umoci or `docker save` write it. Every blob read is checked against
 * its descriptor's size and digest before it is used.
 */
export class OciLayout {
  private constructor(
    readonly dir: string,
    /** How errors name the image (the path given, or the reference). */
    readonly image: string,
  ) {}

  /** Opens a layout after checking its `oci-layout` file. */
  static open(dir: string, image: string): OciLayout {
    const marker = parseJson(readCapped(join(dir, 'oci-layout'), 4096, image, 'oci-layout file'), image, 'oci-layout');
    const version = marker.imageLayoutVersion;
    if (typeof version !== 'string' || !/^1\.\d+\.\d+$/.test(version)) {
      throw new ImageError('IMAGE_LAYOUT', `image ${image}: oci-layout imageLayoutVersion ${JSON.stringify(version)} is not 1.x`, {
        image,
        path: join(dir, 'oci-layout'),
      });
    }
    return new OciLayout(dir, image);
  }

  /** Path of a blob (the digest is checked for form first, so it is a safe path). */
  blobPath(digest: string): string {
    const d = parseDigest(digest);
    if (!d) throw new ImageError('IMAGE_LAYOUT', `image ${this.image}: ${JSON.stringify(digest)} is not a digest`, { image: this.image });
    return join(this.dir, 'blobs', d.algorithm, d.hex);
  }

  /** The top-level descriptors of index.json. */
  index(): Descriptor[] {
    const index = parseJson(readCapped(join(this.dir, 'index.json'), MAX_JSON_BYTES, this.image, 'index.json'), this.image, 'index.json');
    if (!Array.isArray(index.manifests))
      throw new ImageError('IMAGE_LAYOUT', `image ${this.image}: index.json has no "manifests" list`, { image: this.image });
    return index.manifests.map((m, i) => checkDescriptor(m, `index.json manifests[${i}]`, this.image));
  }

  /** Reads a small blob (JSON), checking its size and digest against the descriptor. */
  readBlob(desc: Descriptor, what: string): Buffer {
    if (desc.size > MAX_JSON_BYTES)
      throw new ImageError(
        'IMAGE_LAYOUT',
        `image ${this.image}: ${what} ${desc.digest} is ${desc.size} bytes, more than ${MAX_JSON_BYTES}`,
        { image: this.image, digest: desc.digest },
      );
    const path = this.blobPath(desc.digest);
    const buf = readCapped(path, MAX_JSON_BYTES, this.image, `${what} blob`);
    const algorithm = parseDigest(desc.digest)!.algorithm;
    if (buf.length !== desc.size) {
      throw new ImageError(
        'IMAGE_DIGEST',
        `image ${this.image}: ${what} ${desc.digest}: blob is ${buf.length} bytes, its descriptor says ${desc.size}`,
        { image: this.image, digest: desc.digest, path },
      );
    }
    const got = digestOf(buf, algorithm);
    if (got !== desc.digest) {
      throw new ImageError('IMAGE_DIGEST', `image ${this.image}: ${what} ${desc.digest}: blob content has digest ${got}`, {
        image: this.image,
        digest: desc.digest,
        path,
      });
    }
    return buf;
  }

  /** Checks a (large) blob's size and digest against its descriptor, streaming it once. */
  async verifyBlob(desc: Descriptor, what: string): Promise<string> {
    const path = this.blobPath(desc.digest);
    let size: number;
    try {
      size = statSync(path).size;
    } catch (e) {
      throw new ImageError('IMAGE_LAYOUT', `image ${this.image}: ${what} ${desc.digest}: blob ${path} is missing`, {
        image: this.image,
        digest: desc.digest,
        path,
        cause: e,
      });
    }
    if (size !== desc.size) {
      throw new ImageError(
        'IMAGE_DIGEST',
        `image ${this.image}: ${what} ${desc.digest}: blob is ${size} bytes, its descriptor says ${desc.size}`,
        { image: this.image, digest: desc.digest, path },
      );
    }
    const got = await digestFile(path, parseDigest(desc.digest)!.algorithm);
    if (got.digest !== desc.digest || got.size !== desc.size) {
      throw new ImageError('IMAGE_DIGEST', `image ${this.image}: ${what} ${desc.digest}: blob content has digest ${got.digest}`, {
        image: this.image,
        digest: desc.digest,
        path,
      });
    }
    return path;
  }

  /**
   * Follows an index.json entry to one image manifest (through a multi-platform index, choosing
   * linux on this host's architecture) and reads the manifest and its config.
   */
  resolve(entry: Descriptor): ResolvedImage {
    let desc = entry;
    for (let depth = 0; ; depth++) {
      const doc = parseJson(this.readBlob(desc, 'manifest'), this.image, `manifest ${desc.digest}`, desc.digest);
      const type =
        desc.mediaType ??
        (typeof doc.mediaType === 'string' ? doc.mediaType : Array.isArray(doc.manifests) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
      if (INDEX_TYPES.includes(type)) {
        if (depth >= 2)
          throw new ImageError('IMAGE_LAYOUT', `image ${this.image}: indexes nested more than twice (at ${desc.digest})`, {
            image: this.image,
            digest: desc.digest,
          });
        if (!Array.isArray(doc.manifests))
          throw new ImageError('IMAGE_LAYOUT', `image ${this.image}: index ${desc.digest} has no "manifests" list`, {
            image: this.image,
            digest: desc.digest,
          });
        desc = choosePlatform(
          doc.manifests.map((m, i) => checkDescriptor(m, `index ${desc.digest} manifests[${i}]`, this.image)),
          this.image,
          desc.digest,
        );
        continue;
      }
      if (!MANIFEST_TYPES.includes(type)) {
        throw new ImageError(
          'IMAGE_UNSUPPORTED',
          `image ${this.image}: ${desc.digest} has media type ${type}, not an image manifest or index`,
          { image: this.image, digest: desc.digest },
        );
      }
      return this.readManifest(desc, doc, entry);
    }
  }

  private readManifest(desc: Descriptor, doc: Record<string, unknown>, entry: Descriptor): ResolvedImage {
    const config = manifestConfig(desc.digest, doc, this.image);
    const cfg = parseJson(this.readBlob(config, 'config'), this.image, `config ${config.digest}`, config.digest);
    return { ...interpretImage(desc.digest, doc, config, cfg, this.image), entry };
  }
}

/** Picks the manifest for linux on this host's architecture from a multi-platform index. */
export function choosePlatform(manifests: Descriptor[], image: string, indexDigest: string): Descriptor {
  const arch = hostArchitecture();
  const images = manifests.filter((m) => !(m.platform?.os === 'unknown' && m.platform?.architecture === 'unknown'));
  if (images.length === 1 && !images[0]!.platform) return images[0]!;
  const fits = images.filter((m) => m.platform?.os === 'linux' && m.platform?.architecture === arch);
  if (fits.length === 1) return fits[0]!;
  const platforms = images.map((m) =>
    m.platform ? [m.platform.os, m.platform.architecture, m.platform.variant].filter(Boolean).join('/') : `(no platform) ${m.digest}`,
  );
  if (!fits.length)
    throw new ImageError(
      'IMAGE_UNSUPPORTED',
      `image ${image}: index ${indexDigest} has no manifest for linux/${arch} (it has: ${platforms.join(', ') || 'none'})`,
      { image, digest: indexDigest },
    );
  throw new ImageError(
    'IMAGE_AMBIGUOUS',
    `image ${image}: index ${indexDigest} has ${fits.length} manifests for linux/${arch} (${fits.map((m) => `${m.platform?.variant ?? '-'} ${m.digest}`).join(', ')})`,
    { image, digest: indexDigest },
  );
}

/**
 * Chooses the index.json entry to import. With `select`, the entry whose ref.name annotation (or
 * digest) is `select`; otherwise the only entry. Several entries without `select` is an error that
 * lists them.
 */
export function selectEntry(entries: Descriptor[], image: string, select?: string): Descriptor {
  const label = (d: Descriptor): string => d.annotations?.[REF_NAME_ANNOTATION] ?? d.annotations?.[CONTAINERD_NAME_ANNOTATION] ?? d.digest;
  if (select !== undefined) {
    const hits = entries.filter(
      (d) =>
        d.digest === select || d.annotations?.[REF_NAME_ANNOTATION] === select || d.annotations?.[CONTAINERD_NAME_ANNOTATION] === select,
    );
    const distinct = [...new Map(hits.map((d) => [d.digest, d])).values()];
    if (distinct.length === 1) return distinct[0]!;
    if (!distinct.length)
      throw new ImageError(
        'IMAGE_NOT_FOUND',
        `image ${image}: index.json has no entry named ${JSON.stringify(select)} (it has: ${entries.map(label).join(', ') || 'none'})`,
        { image },
      );
    throw new ImageError(
      'IMAGE_AMBIGUOUS',
      `image ${image}: index.json has ${distinct.length} entries named ${JSON.stringify(select)} (${distinct.map((d) => d.digest).join(', ')}): select one by digest`,
      { image },
    );
  }
  const distinct = [...new Map(entries.map((d) => [d.digest, d])).values()];
  if (distinct.length === 1) return distinct[0]!;
  if (!distinct.length) throw new ImageError('IMAGE_LAYOUT', `image ${image}: index.json lists no manifest`, { image });
  throw new ImageError(
    'IMAGE_AMBIGUOUS',
    `image ${image}: index.json lists ${distinct.length} images (${distinct.map(label).join(', ')}): choose one with --select NAME (its ref.name annotation) or --select DIGEST`,
    { image },
  );
}

/** The config descriptor of a manifest document, checked to be an image config. */
export function manifestConfig(manifestDigest: string, doc: Record<string, unknown>, image: string): Descriptor {
  const config = checkDescriptor(doc.config, `manifest ${manifestDigest} config`, image);
  if (config.mediaType !== undefined && !CONFIG_TYPES.includes(config.mediaType)) {
    throw new ImageError(
      'IMAGE_UNSUPPORTED',
      `image ${image}: config ${config.digest} has media type ${config.mediaType}, not an image config (is this an artifact, not an image?)`,
      { image, digest: config.digest },
    );
  }
  return config;
}

/**
 * What a verified manifest document and its verified config say (for layouts and registries
 * alike): layers with their compression and diff_ids, the image config's runtime defaults, and
 * the platform, refused unless it is linux on this host's architecture.
 */
export function interpretImage(
  manifestDigest: string,
  doc: Record<string, unknown>,
  config: Descriptor,
  cfg: Record<string, unknown>,
  image: string,
): Omit<ResolvedImage, 'entry'> {
  if (!Array.isArray(doc.layers))
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: manifest ${manifestDigest} has no "layers" list`, {
      image,
      digest: manifestDigest,
    });
  const blobs = doc.layers.map((l, i) => checkDescriptor(l, `manifest ${manifestDigest} layers[${i}]`, image));
  const rootfs = cfg.rootfs;
  if (!isObject(rootfs) || rootfs.type !== 'layers' || !Array.isArray(rootfs.diff_ids)) {
    throw new ImageError('IMAGE_LAYOUT', `image ${image}: config ${config.digest} has no rootfs of type "layers" with diff_ids`, {
      image,
      digest: config.digest,
    });
  }
  const diffIds = rootfs.diff_ids as unknown[];
  if (diffIds.length !== blobs.length) {
    throw new ImageError(
      'IMAGE_LAYOUT',
      `image ${image}: manifest ${manifestDigest} lists ${blobs.length} layers, its config ${config.digest} ${diffIds.length} diff_ids`,
      { image, digest: manifestDigest },
    );
  }
  const layers = blobs.map((blob, i): ManifestLayer => {
    const diffId = parseDigest(diffIds[i]);
    if (!diffId)
      throw new ImageError(
        'IMAGE_LAYOUT',
        `image ${image}: config ${config.digest} diff_ids[${i}] ${JSON.stringify(diffIds[i])} is not a digest`,
        { image, digest: config.digest },
      );
    const type = blob.mediaType ?? '';
    const compression = LAYER_MEDIA_TYPES[type];
    if (compression === undefined) {
      throw new ImageError(
        'IMAGE_UNSUPPORTED',
        `image ${image}: layer ${blob.digest} has media type ${JSON.stringify(type)}, not a tar layer (known: ${Object.keys(LAYER_MEDIA_TYPES).join(', ')})`,
        { image, digest: blob.digest },
      );
    }
    return { blob, compression, diffId: formatDigest(diffId) };
  });
  const os = typeof cfg.os === 'string' ? cfg.os : undefined;
  const architecture = typeof cfg.architecture === 'string' ? cfg.architecture : undefined;
  if (os !== undefined && os !== 'linux')
    throw new ImageError('IMAGE_UNSUPPORTED', `image ${image}: it is built for os ${os}, not linux`, { image, digest: config.digest });
  if (architecture !== undefined && architecture !== hostArchitecture()) {
    throw new ImageError('IMAGE_UNSUPPORTED', `image ${image}: it is built for ${architecture}, this host is ${hostArchitecture()}`, {
      image,
      digest: config.digest,
    });
  }
  return {
    manifestDigest,
    configDigest: config.digest,
    layers,
    imageConfig: parseImageConfig(cfg),
    ...(architecture && { architecture }),
    ...(os && { os }),
  };
}
