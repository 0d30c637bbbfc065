/**
 * The OCI distribution client: resolves a reference to one platform's manifest and config (all
 * verified), and streams blobs verified against their descriptors. Every request goes through the
 * Transport, is bounded in time, retried with backoff on connection failures, timeouts, 5xx and
 * 429, and authenticated as the registry asks (bearer tokens or basic credentials).
 */
import type { Readable } from 'node:stream';
import { digestOf, parseDigest, type DigestAlgorithm } from '../digest.js';
import { ImageError } from '../errors.js';
import { checkDescriptor, LAYER_MEDIA_TYPES, MAX_JSON_BYTES, MEDIA_TYPES, type Descriptor } from '../layout.js';
import { verifiedBlob } from './blob.js';
import type { CredentialStore } from './credentials.js';
import { choosePlatformManifest, formatPlatform, hostPlatform, normalizeArchitecture, type Platform } from './platform.js';
import { formatReference, manifestTarget, registryHost, type ImageReference } from '../../spec/imageReference.js';
import { registryError, RegistrySession, stripScheme, type Endpoint, type RequestContext } from './session.js';
import type { Transport } from './transport.js';

/** Whether plain HTTP may be used for a host (Docker's rule plus the insecure list). */
export { plainHttpAllowed } from './session.js';

/** How the client reaches registries. */
export interface RegistryOptions {
  transport: Transport;
  credentials: CredentialStore;
  /** Registries (host[:port]) where plain HTTP is allowed besides localhost, 127.0.0.0/8 and ::1 (Docker's rule). */
  insecure?: string[];
  /** Mirrors per registry: tried in order before the registry itself (docker.io -> ["mirror.local:5000"]). */
  mirrors?: Record<string, string[]>;
  /** Per request (default 30 s). */
  timeoutMs?: number;
  /** Attempts for 5xx / connection errors / timeouts, with backoff (default 4). */
  attempts?: number;
  /** First backoff between attempts, doubling after each (default 200 ms). */
  backoffMs?: number;
  /** Longest wait a 429's Retry-After is honored for (default 5 s). */
  maxRetryAfterMs?: number;
  /** Default linux and hostArchitecture() (hostPlatform()). */
  platform?: Platform;
}

/** A platform manifest resolved and verified. */
export interface RemoteImage {
  /** As asked. */
  reference: ImageReference;
  /** Digest of the platform manifest (what a container is pinned to). */
  manifestDigest: string;
  /** Digest of the index/list it was chosen from, if any (the "repo digest" a tag points at). */
  indexDigest?: string;
  manifestMediaType: string;
  /** Verified against manifestDigest. */
  manifestBytes: Buffer;
  /** Fetched and verified. */
  config: { digest: string; mediaType: string; bytes: Buffer };
  /** Bottom first; their diff_ids are config.bytes' rootfs.diff_ids (same count, checked). */
  layers: Array<{ descriptor: Descriptor; compression: 'none' | 'gzip' | 'zstd' }>;
  /** The registry host that served it (a mirror or the registry). */
  servedBy: string;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const DEFAULT_ATTEMPTS = 4;
const DEFAULT_BACKOFF_MS = 200;
const DEFAULT_MAX_RETRY_AFTER_MS = 5_000;

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const MANIFEST_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];
const CONFIG_TYPES: readonly string[] = [MEDIA_TYPES.ociConfig, MEDIA_TYPES.dockerConfig];
const SCHEMA1_TYPES: readonly string[] = [
  'application/vnd.docker.distribution.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.v1+prettyjws',
];
/** The Accept header of manifest requests: OCI index and manifest, Docker list and schema 2. */
export const MANIFEST_ACCEPT = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(
  ', ',
);

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** A fetched manifest or index, verified. */
interface FetchedDoc {
  digest: string;
  bytes: Buffer;
  mediaType: string;
  json: Record<string, unknown>;
}

/** Resolves references and streams blobs from OCI distribution registries. */
export class RegistryClient {
  private readonly session: RegistrySession;
  private readonly mirrors: Record<string, string[]>;
  private readonly platform: Platform;

  constructor(opts: RegistryOptions) {
    this.session = new RegistrySession({
      transport: opts.transport,
      credentials: opts.credentials,
      insecure: opts.insecure ?? [],
      timeoutMs: opts.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      attempts: Math.max(1, opts.attempts ?? DEFAULT_ATTEMPTS),
      backoffMs: opts.backoffMs ?? DEFAULT_BACKOFF_MS,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? DEFAULT_MAX_RETRY_AFTER_MS,
    });
    this.mirrors = opts.mirrors ?? {};
    this.platform = opts.platform ?? hostPlatform();
  }

  /**
   * Resolves a tag or digest reference to this platform's manifest and its config, trying each
   * mirror of the registry and then the registry (any failure falls through to the next). An index
   * is resolved to this platform (IMAGE_PLATFORM lists the platforms it offers); schema 1 is refused
   * (REGISTRY_PROTOCOL); every document is verified against the digest it was fetched by, the
   * reference's digest, and the registry's Docker-Content-Digest header (IMAGE_DIGEST).
   */
  async resolve(ref: ImageReference): Promise<RemoteImage> {
    const endpoints = this.endpoints(ref.registry);
    const mirrorFailures: string[] = [];
    for (const [i, endpoint] of endpoints.entries()) {
      try {
        return await this.resolveAt(ref, endpoint);
      } catch (e) {
        if (i < endpoints.length - 1) {
          mirrorFailures.push(`${endpoint.host}: ${(e as Error).message}`);
          continue;
        }
        if (!mirrorFailures.length || !(e instanceof ImageError)) throw e;
        throw new ImageError(e.code, `${e.message} (mirrors tried first: ${mirrorFailures.join('; ')})`, e.details);
      }
    }
    throw new Error('unreachable: a registry has at least one endpoint');
  }

  /**
   * A Readable of the blob's bytes, verified: it ends only if all `descriptor.size` bytes arrived
   * and hash to `descriptor.digest`, otherwise it errors with an ImageError (IMAGE_DIGEST for a
   * mismatch, too many or too few bytes). Connection failures and 5xx mid-stream are retried with
   * backoff, resuming with `Range: bytes=N-` (the registry must answer 206; a 200 after bytes were
   * emitted ends the stream with REGISTRY_UNREACHABLE, for the caller to restart the layer). Fetched
   * from the host that served the image; other endpoints are tried when it fails before any byte.
   * onProgress(bytesSoFar) is called as data flows.
   */
  blob(image: RemoteImage, descriptor: Descriptor, onProgress?: (bytes: number) => void): Readable {
    const all = this.endpoints(image.reference.registry);
    const served = all.find((e) => e.host === image.servedBy) ?? { host: image.servedBy, credentialKey: image.servedBy };
    const endpoints = [served, ...all.filter((e) => e.host !== image.servedBy)];
    const source = { session: this.session, endpoints, image: formatReference(image.reference), repository: image.reference.repository };
    return verifiedBlob(source, descriptor, onProgress);
  }

  private endpoints(registry: string): Endpoint[] {
    const mirrors = (this.mirrors[registry] ?? []).map((m) => stripScheme(m)).filter((m) => m !== '');
    return [...mirrors.map((host) => ({ host, credentialKey: host })), { host: registryHost(registry), credentialKey: registry }];
  }

  private async resolveAt(ref: ImageReference, endpoint: Endpoint): Promise<RemoteImage> {
    const ctx: RequestContext = { image: formatReference(ref), repository: ref.repository, endpoint };
    let doc = await this.fetchManifest(ctx, manifestTarget(ref), ref.digest);
    let indexDigest: string | undefined;
    for (let depth = 0; INDEX_TYPES.includes(doc.mediaType); depth++) {
      if (depth >= 2) throw registryError('REGISTRY_PROTOCOL', ctx, `index ${doc.digest} nests indexes more than twice`, doc.digest);
      indexDigest ??= doc.digest;
      if (!Array.isArray(doc.json.manifests)) throw registryError('REGISTRY_PROTOCOL', ctx, `index ${doc.digest} has no "manifests" list`);
      const entries = doc.json.manifests.map((m, i) => this.descriptor(ctx, m, `index ${doc.digest} manifests[${i}]`));
      const choice = choosePlatformManifest(entries, this.platform);
      if ('offered' in choice) {
        throw registryError(
          'IMAGE_PLATFORM',
          ctx,
          `index ${doc.digest} has no manifest for ${formatPlatform(this.platform)} (it offers: ${choice.offered.join(', ') || 'nothing'})`,
          doc.digest,
        );
      }
      doc = await this.fetchManifest(ctx, choice.chosen.digest, choice.chosen.digest, choice.chosen.size);
    }
    return this.readManifest(ctx, ref, doc, indexDigest);
  }

  private async readManifest(
    ctx: RequestContext,
    ref: ImageReference,
    doc: FetchedDoc,
    indexDigest: string | undefined,
  ): Promise<RemoteImage> {
    const config = this.descriptor(ctx, doc.json.config, `manifest ${doc.digest} config`);
    const configType =
      config.mediaType ?? (doc.mediaType === MEDIA_TYPES.dockerManifest ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig);
    if (!CONFIG_TYPES.includes(configType)) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `manifest ${doc.digest}: config has media type ${configType}, not an image config (is this an artifact, not an image?)`,
        doc.digest,
      );
    }
    if (!Array.isArray(doc.json.layers))
      throw registryError('REGISTRY_PROTOCOL', ctx, `manifest ${doc.digest} has no "layers" list`, doc.digest);
    const layers = doc.json.layers.map((l, i) => {
      const descriptor = this.descriptor(ctx, l, `manifest ${doc.digest} layers[${i}]`);
      const type = descriptor.mediaType ?? '';
      const compression = Object.hasOwn(LAYER_MEDIA_TYPES, type) ? LAYER_MEDIA_TYPES[type] : undefined;
      if (compression === undefined) {
        throw registryError(
          'REGISTRY_PROTOCOL',
          ctx,
          `manifest ${doc.digest}: layer ${descriptor.digest} has media type ${JSON.stringify(descriptor.mediaType ?? null)}, not a tar layer`,
          descriptor.digest,
        );
      }
      return { descriptor, compression };
    });
    const bytes = await this.fetchConfig(ctx, config);
    let cfg: unknown;
    try {
      cfg = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `config ${config.digest} is not valid JSON (${(e as Error).message})`,
        config.digest,
        e,
      );
    }
    if (!isObject(cfg)) throw registryError('REGISTRY_PROTOCOL', ctx, `config ${config.digest} is not a JSON object`, config.digest);
    const rootfs = cfg.rootfs;
    const diffIds = isObject(rootfs) && Array.isArray(rootfs.diff_ids) ? rootfs.diff_ids : null;
    if (!diffIds || !diffIds.every((d) => parseDigest(d))) {
      throw registryError('REGISTRY_PROTOCOL', ctx, `config ${config.digest} has no rootfs.diff_ids list of digests`, config.digest);
    }
    if (diffIds.length !== layers.length) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `manifest ${doc.digest} lists ${layers.length} layers, its config ${config.digest} ${diffIds.length} diff_ids`,
        doc.digest,
      );
    }
    this.checkConfigPlatform(ctx, cfg, config.digest);
    return {
      reference: ref,
      manifestDigest: doc.digest,
      ...(indexDigest !== undefined && { indexDigest }),
      manifestMediaType: doc.mediaType,
      manifestBytes: doc.bytes,
      config: { digest: config.digest, mediaType: configType, bytes },
      layers,
      servedBy: ctx.endpoint.host,
    };
  }

  private checkConfigPlatform(ctx: RequestContext, cfg: Record<string, unknown>, digest: string): void {
    const os = typeof cfg.os === 'string' ? cfg.os : undefined;
    const arch = typeof cfg.architecture === 'string' ? cfg.architecture : undefined;
    const osFits = os === undefined || os.toLowerCase() === this.platform.os.toLowerCase();
    const archFits = arch === undefined || normalizeArchitecture(arch) === normalizeArchitecture(this.platform.architecture);
    if (!osFits || !archFits) {
      const variant = typeof cfg.variant === 'string' ? cfg.variant : undefined;
      throw registryError(
        'IMAGE_PLATFORM',
        ctx,
        `the image is built for ${formatPlatform({ os, architecture: arch, variant })}, not ${formatPlatform(this.platform)}`,
        digest,
      );
    }
  }

  /** Checks a descriptor's shape; a bad one is the registry's fault (REGISTRY_PROTOCOL). */
  private descriptor(ctx: RequestContext, v: unknown, what: string): Descriptor {
    try {
      return checkDescriptor(v, what, ctx.image);
    } catch (e) {
      if (!(e instanceof ImageError)) throw e;
      throw new ImageError('REGISTRY_PROTOCOL', `${e.message} (from registry ${ctx.endpoint.host})`, { image: ctx.image, cause: e });
    }
  }

  /** GETs a manifest or index by tag or digest and verifies it. */
  private async fetchManifest(ctx: RequestContext, target: string, expectDigest?: string, expectSize?: number): Promise<FetchedDoc> {
    const path = `/v2/${ctx.repository}/manifests/${target}`;
    const { bytes, headers } = await this.session.exchange(
      ctx,
      { path },
      { auth: true, headers: { accept: MANIFEST_ACCEPT } },
      async (res) => ({
        bytes: await this.session.readJson(ctx, res, `manifest ${target}`),
        headers: res.headers,
      }),
    );
    if (expectSize !== undefined && bytes.length !== expectSize) {
      throw registryError('IMAGE_DIGEST', ctx, `manifest ${target} is ${bytes.length} bytes, its descriptor says ${expectSize}`, target);
    }
    const algorithm: DigestAlgorithm = (expectDigest && parseDigest(expectDigest)?.algorithm) || 'sha256';
    const digest = digestOf(bytes, algorithm);
    if (expectDigest !== undefined && digest !== expectDigest) {
      throw registryError('IMAGE_DIGEST', ctx, `manifest ${target}: its content has digest ${digest}`, expectDigest);
    }
    const announced = parseDigest(headers['docker-content-digest']?.trim());
    if (announced) {
      const computed = digestOf(bytes, announced.algorithm);
      const said = `${announced.algorithm}:${announced.hex}`;
      if (computed !== said) {
        throw registryError(
          'IMAGE_DIGEST',
          ctx,
          `manifest ${target}: the registry says its digest is ${said} (Docker-Content-Digest), its content hashes to ${computed}`,
          said,
        );
      }
    }
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw registryError('REGISTRY_PROTOCOL', ctx, `manifest ${target} is not valid JSON (${(e as Error).message})`, digest, e);
    }
    if (!isObject(json)) throw registryError('REGISTRY_PROTOCOL', ctx, `manifest ${target} is not a JSON object`, digest);
    const contentType = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (json.schemaVersion === 1 || SCHEMA1_TYPES.includes(contentType)) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `manifest ${target} is a Docker schema 1 manifest, a format retired in 2017 that pocker does not pull; push the image again with a current docker or skopeo (schema 2 or OCI)`,
        digest,
      );
    }
    if (json.schemaVersion !== 2) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `manifest ${target} has schemaVersion ${JSON.stringify(json.schemaVersion)}, not 2`,
        digest,
      );
    }
    const mediaType =
      typeof json.mediaType === 'string'
        ? json.mediaType
        : [...INDEX_TYPES, ...MANIFEST_TYPES].includes(contentType)
          ? contentType
          : Array.isArray(json.manifests)
            ? MEDIA_TYPES.ociIndex
            : MEDIA_TYPES.ociManifest;
    if (!INDEX_TYPES.includes(mediaType) && !MANIFEST_TYPES.includes(mediaType)) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `manifest ${target} has media type ${mediaType}, not an image manifest or index (known: ${[...INDEX_TYPES, ...MANIFEST_TYPES].join(', ')})`,
        digest,
      );
    }
    return { digest, bytes, mediaType, json };
  }

  /** GETs the config blob and checks its size and digest. */
  private async fetchConfig(ctx: RequestContext, desc: Descriptor): Promise<Buffer> {
    if (desc.size > MAX_JSON_BYTES) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `config ${desc.digest} is ${desc.size} bytes, more than ${MAX_JSON_BYTES}`,
        desc.digest,
      );
    }
    const bytes = await this.session.exchange(ctx, { path: `/v2/${ctx.repository}/blobs/${desc.digest}` }, { auth: true }, (res) =>
      this.session.readJson(ctx, res, `config ${desc.digest}`),
    );
    if (bytes.length !== desc.size) {
      throw registryError(
        'IMAGE_DIGEST',
        ctx,
        `config ${desc.digest} is ${bytes.length} bytes, its descriptor says ${desc.size}`,
        desc.digest,
      );
    }
    const got = digestOf(bytes, parseDigest(desc.digest)!.algorithm);
    if (got !== desc.digest) throw registryError('IMAGE_DIGEST', ctx, `config ${desc.digest}: its content has digest ${got}`, desc.digest);
    return bytes;
  }
}
