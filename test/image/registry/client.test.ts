import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ImageError } from '../../../reconciler/image/errors.js';
import { hostArchitecture, MAX_JSON_BYTES, MEDIA_TYPES } from '../../../reconciler/image/layout.js';
import { MANIFEST_ACCEPT, plainHttpAllowed, RegistryClient, type RegistryOptions } from '../../../reconciler/image/registry/client.js';
import { AuthCache, parseTokenResponse, parseWwwAuthenticate, tokenUrl } from '../../../reconciler/image/registry/auth.js';
import { NO_CREDENTIALS, type CredentialStore } from '../../../reconciler/image/registry/credentials.js';
import { parseReference, type ImageReference } from '../../../reconciler/spec/imageReference.js';
import type { HttpRequest, HttpResponse, Transport } from '../../../reconciler/image/registry/transport.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const json = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));
const netError = (code: string, message = code): Error => Object.assign(new Error(message), { code });
const OTHER_ARCH = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';

function ref(s: string): ImageReference {
  const r = parseReference(s);
  if ('error' in r) throw new Error(r.error);
  return r;
}

/** An answer of the fake: an error (the request fails) or a status, headers and body. */
type Answer = Error | { status: number; headers?: Record<string, string>; body?: Buffer | string | Readable };

/** A Transport answering from a handler and recording every request. */
class FakeTransport implements Transport {
  readonly requests: HttpRequest[] = [];
  constructor(private readonly handler: (req: HttpRequest) => Answer | Promise<Answer>) {}

  async request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push({ ...req, headers: { ...req.headers } });
    const a = await this.handler(req);
    if (a instanceof Error) throw a;
    const body = a.body instanceof Readable ? a.body : Readable.from([Buffer.from(a.body ?? '')]);
    return { status: a.status, headers: a.headers ?? {}, body };
  }

  paths(): string[] {
    return this.requests.map((r) => `${new URL(r.url).host}${new URL(r.url).pathname}`);
  }
}

/** A body that sends `bytes` in chunks of `chunk` and then fails with ECONNRESET. */
function failingBody(bytes: Buffer, chunk = 1000): Readable {
  let off = 0;
  return new Readable({
    read() {
      if (off >= bytes.length) {
        this.destroy(netError('ECONNRESET', 'aborted'));
        return;
      }
      this.push(bytes.subarray(off, off + chunk));
      off += chunk;
    },
  });
}

/** A test image: manifest, config and layers, with the blobs by digest. */
interface Img {
  manifest: Buffer;
  digest: string;
  config: Buffer;
  layers: Buffer[];
  blobs: Map<string, Buffer>;
}

function image(
  o: { layers?: Buffer[]; arch?: string; os?: string; docker?: boolean; layerType?: string; configType?: string; diffIds?: number } = {},
): Img {
  const layers = o.layers ?? [Buffer.from('layer one'), Buffer.from('layer two, a little longer')];
  const config = json({
    architecture: o.arch ?? hostArchitecture(),
    os: o.os ?? 'linux',
    rootfs: { type: 'layers', diff_ids: Array.from({ length: o.diffIds ?? layers.length }, (_, i) => sha(Buffer.from(`tar ${i}`))) },
    config: { Entrypoint: ['/bin/sh'] },
  });
  const layerType =
    o.layerType ?? (o.docker ? 'application/vnd.docker.image.rootfs.diff.tar.gzip' : 'application/vnd.oci.image.layer.v1.tar+gzip');
  const manifest = json({
    schemaVersion: 2,
    mediaType: o.docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest,
    config: {
      mediaType: o.configType ?? (o.docker ? MEDIA_TYPES.dockerConfig : MEDIA_TYPES.ociConfig),
      digest: sha(config),
      size: config.length,
    },
    layers: layers.map((l) => ({ mediaType: layerType, digest: sha(l), size: l.length })),
  });
  const blobs = new Map<string, Buffer>([[sha(config), config], ...layers.map((l): [string, Buffer] => [sha(l), l])]);
  return { manifest, digest: sha(manifest), config, layers, blobs };
}

function indexOf(
  entries: Array<{ img: Img; platform?: Record<string, string>; annotations?: Record<string, string> }>,
  docker = false,
): Buffer {
  return json({
    schemaVersion: 2,
    mediaType: docker ? MEDIA_TYPES.dockerList : MEDIA_TYPES.ociIndex,
    manifests: entries.map((e) => ({
      mediaType: docker ? MEDIA_TYPES.dockerManifest : MEDIA_TYPES.ociManifest,
      digest: e.img.digest,
      size: e.img.manifest.length,
      ...(e.platform && { platform: e.platform }),
      ...(e.annotations && { annotations: e.annotations }),
    })),
  });
}

/** A fake registry: manifests by repository and tag or digest, blobs by digest, optional auth and fault hooks. */
interface FakeRegistryOptions {
  manifests: Record<string, Buffer>;
  blobs?: Map<string, Buffer>;
  auth?: 'bearer' | 'basic';
  /** The token server's answer to a request (default: a token for anyone). */
  token?: (req: HttpRequest) => Answer;
  /** Answers before the registry's own logic, when it returns one. */
  fault?: (req: HttpRequest, n: number) => Answer | undefined;
  rangeSupport?: boolean;
  mediaTypeHeader?: boolean;
}

const TOKEN_REALM = 'https://auth.example/token';

function fakeRegistry(o: FakeRegistryOptions): FakeTransport {
  let n = 0;
  return new FakeTransport((req) => {
    n++;
    const fault = o.fault?.(req, n);
    if (fault) return fault;
    const url = new URL(req.url);
    if (url.href.startsWith(TOKEN_REALM)) return o.token?.(req) ?? { status: 200, body: json({ token: 'tok-anon' }) };
    if (o.auth === 'bearer' && !req.headers.authorization?.startsWith('Bearer ')) {
      const repo = /^\/v2\/(.+)\/(?:manifests|blobs)\//.exec(url.pathname)?.[1];
      return {
        status: 401,
        headers: { 'www-authenticate': `Bearer realm="${TOKEN_REALM}",service="reg.example",scope="repository:${repo}:pull"` },
        body: json({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }),
      };
    }
    if (o.auth === 'basic' && req.headers.authorization !== `Basic ${Buffer.from('alice:pw').toString('base64')}`) {
      return { status: 401, headers: { 'www-authenticate': 'Basic realm="test"' } };
    }
    const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(url.pathname);
    if (m) {
      const doc = o.manifests[`${m[1]}:${m[2]}`] ?? o.manifests[`${m[1]}@${m[2]}`];
      if (!doc) return { status: 404, body: json({ errors: [{ code: 'MANIFEST_UNKNOWN', message: 'manifest unknown' }] }) };
      const type = /"mediaType":"([^"]+)"/.exec(doc.toString())?.[1];
      return { status: 200, headers: { 'content-type': type ?? 'application/json', 'docker-content-digest': sha(doc) }, body: doc };
    }
    const b = /^\/v2\/(.+)\/blobs\/(.+)$/.exec(url.pathname);
    const blob = b && o.blobs?.get(b[2]!);
    if (!blob) return { status: 404, body: json({ errors: [{ code: 'BLOB_UNKNOWN', message: 'blob unknown' }] }) };
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    if (range && o.rangeSupport !== false) {
      const from = Number(range[1]);
      return {
        status: 206,
        headers: { 'content-range': `bytes ${from}-${blob.length - 1}/${blob.length}`, 'content-length': String(blob.length - from) },
        body: blob.subarray(from),
      };
    }
    return { status: 200, headers: { 'content-length': String(blob.length) }, body: blob };
  });
}

function client(transport: Transport, o: Partial<RegistryOptions> = {}): RegistryClient {
  return new RegistryClient({ transport, credentials: NO_CREDENTIALS, backoffMs: 1, ...o });
}

function credentials(file = '/etc/pocker/auth.json', password = 'pw'): CredentialStore {
  return {
    get: (r) => (r === 'reg.example' ? { username: 'alice', password } : null),
    source: (r) => (r === 'reg.example' ? file : null),
    files: [file],
  };
}

async function refusal(p: Promise<unknown>): Promise<ImageError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ImageError) return e;
    throw e;
  }
  throw new Error('expected an ImageError');
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

describe('RegistryClient.resolve', () => {
  it('resolves a tag to an OCI manifest with its verified config and layers', async () => {
    const img = image();
    const t = fakeRegistry({ manifests: { 'team/app:v1': img.manifest }, blobs: img.blobs });
    const r = await client(t).resolve(ref('reg.example/team/app:v1'));
    expect(r.manifestDigest).toBe(img.digest);
    expect(r.indexDigest).toBeUndefined();
    expect(r.manifestMediaType).toBe(MEDIA_TYPES.ociManifest);
    expect(r.manifestBytes.equals(img.manifest)).toBe(true);
    expect(r.config).toEqual({ digest: sha(img.config), mediaType: MEDIA_TYPES.ociConfig, bytes: img.config });
    expect(r.layers.map((l) => [l.descriptor.digest, l.compression])).toEqual(img.layers.map((l) => [sha(l), 'gzip']));
    expect(r.servedBy).toBe('reg.example');
    expect(t.requests.map((q) => q.url)).toEqual([
      'https://reg.example/v2/team/app/manifests/v1',
      `https://reg.example/v2/team/app/blobs/${sha(img.config)}`,
    ]);
    expect(t.requests[0]!.headers.accept).toBe(MANIFEST_ACCEPT);
    expect(MANIFEST_ACCEPT.split(', ').sort()).toEqual(
      [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].sort(),
    );
    expect(t.requests.every((q) => q.timeoutMs === 30_000)).toBe(true);
  });

  it('resolves a Docker manifest list to the schema 2 manifest of this platform, keeping the list digest', async () => {
    const mine = image({ docker: true });
    const other = image({ docker: true, arch: OTHER_ARCH, layers: [Buffer.from('other')] });
    const list = indexOf(
      [
        { img: other, platform: { os: 'linux', architecture: OTHER_ARCH } },
        { img: mine, platform: { os: 'linux', architecture: hostArchitecture() } },
      ],
      true,
    );
    const t = fakeRegistry({
      manifests: { 'library/nginx:1.27': list, [`library/nginx@${mine.digest}`]: mine.manifest },
      blobs: mine.blobs,
    });
    const r = await client(t).resolve(ref('nginx:1.27'));
    expect(r.indexDigest).toBe(sha(list));
    expect(r.manifestDigest).toBe(mine.digest);
    expect(r.manifestMediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(r.config.mediaType).toBe(MEDIA_TYPES.dockerConfig);
    expect(r.layers.every((l) => l.compression === 'gzip')).toBe(true);
    expect(t.paths()[0]).toBe('registry-1.docker.io/v2/library/nginx/manifests/1.27');
    expect(t.paths()[1]).toBe(`registry-1.docker.io/v2/library/nginx/manifests/${mine.digest}`);
  });

  it('chooses the platform asked for, matching variants, skipping attestations', async () => {
    const amd = image({ arch: 'amd64' });
    const arm64 = image({ arch: 'arm64' });
    const armv6 = image({ arch: 'arm', layers: [Buffer.from('v6')] });
    const armv7 = image({ arch: 'arm', layers: [Buffer.from('v7')] });
    const att = image({ arch: 'unknown', os: 'unknown' });
    const idx = indexOf([
      { img: att, platform: { os: 'unknown', architecture: 'unknown' } },
      { img: armv6, platform: { os: 'linux', architecture: 'arm', variant: 'v6' } },
      { img: armv7, platform: { os: 'linux', architecture: 'arm', variant: 'v7' } },
      { img: arm64, platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } },
      { img: amd, platform: { os: 'linux', architecture: 'amd64' } },
    ]);
    const manifests: Record<string, Buffer> = { 'app:v1': idx };
    const blobs = new Map<string, Buffer>();
    for (const i of [amd, arm64, armv6, armv7, att]) {
      manifests[`app@${i.digest}`] = i.manifest;
      for (const [k, v] of i.blobs) blobs.set(k, v);
    }
    const pick = async (platform: RegistryOptions['platform']): Promise<string> =>
      (await client(fakeRegistry({ manifests, blobs }), { platform }).resolve(ref('reg.example/app:v1'))).manifestDigest;
    expect(await pick({ os: 'linux', architecture: 'amd64' })).toBe(amd.digest);
    expect(await pick({ os: 'linux', architecture: 'arm64' })).toBe(arm64.digest);
    expect(await pick({ os: 'linux', architecture: 'aarch64' })).toBe(arm64.digest);
    expect(await pick({ os: 'linux', architecture: 'arm' })).toBe(armv7.digest);
    expect(await pick({ os: 'linux', architecture: 'arm', variant: 'v6' })).toBe(armv6.digest);
    expect(await pick({ os: 'linux', architecture: 'arm', variant: 'v8' })).toBe(armv7.digest);
    const e = await refusal(
      client(fakeRegistry({ manifests, blobs }), { platform: { os: 'linux', architecture: 'riscv64' } }).resolve(ref('reg.example/app:v1')),
    );
    expect(e.code).toBe('IMAGE_PLATFORM');
    expect(e.message).toContain('reg.example/app:v1');
    expect(e.message).toContain(`index ${sha(idx)} has no manifest for linux/riscv64`);
    expect(e.message).toContain('it offers: linux/arm/v6, linux/arm/v7, linux/arm64/v8, linux/amd64');
    expect(e.message).not.toContain('unknown');
    expect(e.details.digest).toBe(sha(idx));
  });

  it('refuses a single manifest built for another platform', async () => {
    const img = image({ arch: OTHER_ARCH });
    const e = await refusal(
      client(fakeRegistry({ manifests: { 'app:v1': img.manifest }, blobs: img.blobs })).resolve(ref('reg.example/app:v1')),
    );
    expect(e.code).toBe('IMAGE_PLATFORM');
    expect(e.message).toContain(`built for linux/${OTHER_ARCH}, not linux/${hostArchitecture()}`);
  });

  it('refuses schema 1 with a clear message', async () => {
    const s1 = json({ schemaVersion: 1, name: 'app', tag: 'old', fsLayers: [] });
    const e = await refusal(client(fakeRegistry({ manifests: { 'app:old': s1 } })).resolve(ref('reg.example/app:old')));
    expect(e.code).toBe('REGISTRY_PROTOCOL');
    expect(e.message).toMatch(/Docker schema 1 manifest.*push the image again/);
    expect(e.message).toContain('reg.example/app:old');
  });

  it('refuses what is not an image: unknown media types, artifacts, bad JSON, a wrong diff_ids count', async () => {
    const cases: Array<[Img | Buffer, RegExp]> = [
      [image({ layerType: 'application/vnd.example.thing' }), /has media type "application\/vnd.example.thing", not a tar layer/],
      [image({ configType: 'application/vnd.example.config+json' }), /not an image config \(is this an artifact/],
      [image({ diffIds: 1 }), /lists 2 layers, its config .* 1 diff_ids/],
      [
        json({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }),
        /media type application\/vnd.example\+json, not an image manifest or index/,
      ],
      [Buffer.from('{"schemaVersion":2,'), /is not valid JSON/],
      [json({ schemaVersion: 3 }), /schemaVersion 3, not 2/],
      [json({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { digest: 'x', size: 1 }, layers: [] }), /digest "x" is not/],
    ];
    for (const [doc, why] of cases) {
      const manifest = Buffer.isBuffer(doc) ? doc : doc.manifest;
      const blobs = Buffer.isBuffer(doc) ? new Map<string, Buffer>() : doc.blobs;
      const e = await refusal(client(fakeRegistry({ manifests: { 'app:v1': manifest }, blobs })).resolve(ref('reg.example/app:v1')));
      expect(e.code, why.source).toBe('REGISTRY_PROTOCOL');
      expect(e.message).toMatch(why);
      expect(e.message).toContain('registry reg.example');
    }
  });

  it('limits the size of manifests', async () => {
    const huge = (announced: boolean): FakeTransport =>
      new FakeTransport(() => ({
        status: 200,
        headers: announced ? { 'content-length': String(MAX_JSON_BYTES + 1) } : ({} as Record<string, string>),
        body: Readable.from([Buffer.alloc(MAX_JSON_BYTES), Buffer.alloc(10)]),
      }));
    for (const announced of [true, false]) {
      const e = await refusal(client(huge(announced)).resolve(ref('reg.example/app:v1')));
      expect(e.code).toBe('REGISTRY_PROTOCOL');
      expect(e.message).toMatch(new RegExp(`more than ${MAX_JSON_BYTES}`));
    }
  });

  it('verifies every document: the reference digest, the index descriptor, Docker-Content-Digest, the config', async () => {
    const img = image();
    const wrong = `sha256:${'0'.repeat(64)}`;
    let e = await refusal(
      client(fakeRegistry({ manifests: { [`app@${wrong}`]: img.manifest }, blobs: img.blobs })).resolve(ref(`reg.example/app@${wrong}`)),
    );
    expect(e.code).toBe('IMAGE_DIGEST');
    expect(e.message).toContain(`its content has digest ${img.digest}`);

    const ok = await client(fakeRegistry({ manifests: { [`app@${img.digest}`]: img.manifest }, blobs: img.blobs })).resolve(
      ref(`reg.example/app:tag@${img.digest}`),
    );
    expect(ok.manifestDigest).toBe(img.digest);

    const lying = new FakeTransport((req) =>
      req.url.includes('/manifests/')
        ? { status: 200, headers: { 'docker-content-digest': wrong }, body: img.manifest }
        : { status: 200, body: img.blobs.get(req.url.split('/blobs/')[1]!)! },
    );
    e = await refusal(client(lying).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('IMAGE_DIGEST');
    expect(e.message).toContain(`says its digest is ${wrong} (Docker-Content-Digest), its content hashes to ${img.digest}`);

    const idx = json({
      schemaVersion: 2,
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: [
        {
          mediaType: MEDIA_TYPES.ociManifest,
          digest: img.digest,
          size: img.manifest.length + 1,
          platform: { os: 'linux', architecture: hostArchitecture() },
        },
      ],
    });
    e = await refusal(
      client(fakeRegistry({ manifests: { 'app:v1': idx, [`app@${img.digest}`]: img.manifest }, blobs: img.blobs })).resolve(
        ref('reg.example/app:v1'),
      ),
    );
    expect(e.code).toBe('IMAGE_DIGEST');
    expect(e.message).toMatch(/is \d+ bytes, its descriptor says/);

    const badConfig = new Map(img.blobs);
    badConfig.set(sha(img.config), Buffer.from(img.config.toString().replace('linux', 'LINUX')));
    e = await refusal(client(fakeRegistry({ manifests: { 'app:v1': img.manifest }, blobs: badConfig })).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('IMAGE_DIGEST');
    expect(e.message).toContain(`config ${sha(img.config)}: its content has digest`);
  });

  it('says what was not found, with the registry and status, and does not retry', async () => {
    const t = fakeRegistry({ manifests: {} });
    const e = await refusal(client(t).resolve(ref('reg.example/app:nope')));
    expect(e.code).toBe('REGISTRY_NOT_FOUND');
    expect(e.message).toBe(
      'image reg.example/app:nope: registry reg.example: GET /v2/app/manifests/nope: 404 Not Found (MANIFEST_UNKNOWN: manifest unknown)',
    );
    expect(t.requests).toHaveLength(1);
  });
});

describe('auth pieces', () => {
  it('parses WWW-Authenticate challenges', () => {
    expect(
      parseWwwAuthenticate(
        'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"',
      ),
    ).toEqual([
      {
        scheme: 'bearer',
        params: { realm: 'https://auth.docker.io/token', service: 'registry.docker.io', scope: 'repository:library/nginx:pull' },
      },
    ]);
    expect(parseWwwAuthenticate('Basic realm="a, b", Bearer realm=https://x/t , error="invalid_token"')).toEqual([
      { scheme: 'basic', params: { realm: 'a, b' } },
      { scheme: 'bearer', params: { realm: 'https://x/t', error: 'invalid_token' } },
    ]);
    expect(parseWwwAuthenticate('Basic Realm="say \\"hi\\""')).toEqual([{ scheme: 'basic', params: { realm: 'say "hi"' } }]);
    expect(parseWwwAuthenticate('Negotiate abc==, Basic realm=x')).toEqual([
      { scheme: 'negotiate', params: {} },
      { scheme: 'basic', params: { realm: 'x' } },
    ]);
    expect(parseWwwAuthenticate('')).toEqual([]);
  });

  it('asks the realm for the service and every scope, or the pull scope', () => {
    const url = tokenUrl(
      { scheme: 'bearer', params: { realm: 'https://auth.example/token?a=1', service: 's', scope: 'x:a:pull y:b:pull' } },
      'r',
    );
    expect(url.searchParams.get('a')).toBe('1');
    expect(url.searchParams.get('service')).toBe('s');
    expect(url.searchParams.getAll('scope')).toEqual(['x:a:pull', 'y:b:pull']);
    expect(tokenUrl({ scheme: 'bearer', params: { realm: 'https://auth.example/token' } }, 'team/app').searchParams.get('scope')).toBe(
      'repository:team/app:pull',
    );
  });

  it('reads token answers', () => {
    expect(parseTokenResponse(json({ token: 't', expires_in: 300 }))).toEqual({ token: 't', expiresInSeconds: 300 });
    expect(parseTokenResponse(json({ access_token: 'a' }))).toEqual({ token: 'a', expiresInSeconds: 60 });
    expect(() => parseTokenResponse(json({ nothing: 1 }))).toThrow(/no "token" nor "access_token"/);
    expect(() => parseTokenResponse(Buffer.from('<html>'))).toThrow(/not JSON/);
  });

  it('caches a token per host and repository until shortly before it expires', () => {
    let now = 0;
    const cache = new AuthCache(() => now);
    cache.putToken('h', 'team/app', { token: 't', expiresInSeconds: 60 });
    expect(cache.authorization('h', 'team/app')).toBe('Bearer t');
    expect(cache.authorization('h', 'team/other')).toBeUndefined();
    expect(cache.authorization('other', 'team/app')).toBeUndefined();
    now = 49_000;
    expect(cache.authorization('h', 'team/app')).toBe('Bearer t');
    now = 51_000;
    expect(cache.authorization('h', 'team/app')).toBeUndefined();
    cache.putBasic('h', { username: 'u', password: 'p' });
    expect(cache.authorization('h', 'any/repo')).toBe(`Basic ${Buffer.from('u:p').toString('base64')}`);
    cache.forget('h', 'any/repo');
    expect(cache.authorization('h', 'any/repo')).toBeUndefined();
  });
});

describe('RegistryClient auth', () => {
  const img = image();
  const manifests = { 'team/app:v1': img.manifest };

  it('gets an anonymous bearer token for the challenged scope, caches it, and retries once', async () => {
    const t = fakeRegistry({ manifests, blobs: img.blobs, auth: 'bearer' });
    const c = client(t);
    await c.resolve(ref('reg.example/team/app:v1'));
    const token = t.requests.find((r) => r.url.startsWith(TOKEN_REALM))!;
    const q = new URL(token.url).searchParams;
    expect(q.get('service')).toBe('reg.example');
    expect(q.get('scope')).toBe('repository:team/app:pull');
    expect(token.headers.authorization).toBeUndefined();
    expect(t.requests.map((r) => r.headers.authorization ?? '-')).toEqual(['-', '-', 'Bearer tok-anon', 'Bearer tok-anon']);
    const before = t.requests.length;
    await c.resolve(ref('reg.example/team/app:v1'));
    expect(t.requests.slice(before).map((r) => r.headers.authorization)).toEqual(['Bearer tok-anon', 'Bearer tok-anon']);
    const other = t.requests.length;
    await refusal(c.resolve(ref('reg.example/team/other:v1')));
    expect(new URL(t.requests.slice(other).find((r) => r.url.startsWith(TOKEN_REALM))!.url).searchParams.get('scope')).toBe(
      'repository:team/other:pull',
    );
  });

  it('asks the token server with basic credentials when the store has some; takes access_token', async () => {
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      auth: 'bearer',
      token: (req) =>
        req.headers.authorization === `Basic ${Buffer.from('alice:pw').toString('base64')}`
          ? { status: 200, body: json({ access_token: 'tok-alice', expires_in: 300 }) }
          : { status: 401 },
    });
    await client(t, { credentials: credentials() }).resolve(ref('reg.example/team/app:v1'));
    expect(t.requests.at(-1)!.headers.authorization).toBe('Bearer tok-alice');
  });

  it('says whose credentials were refused and from which file, never the secret', async () => {
    const secret = 'hunter2-secret';
    const refused = fakeRegistry({ manifests, auth: 'bearer', token: () => ({ status: 401, body: json({ details: 'bad' }) }) });
    let e = await refusal(client(refused, { credentials: credentials('/tmp/auth.json', secret) }).resolve(ref('reg.example/team/app:v1')));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain('with the credentials of user "alice" from /tmp/auth.json');
    expect(e.message).toContain('token server GET https://auth.example/token: 401 Unauthorized');
    expect(e.message).not.toContain(secret);
    expect(e.message).not.toContain(Buffer.from(`alice:${secret}`).toString('base64'));

    const stillRefused = new FakeTransport((req) =>
      req.url.startsWith(TOKEN_REALM)
        ? { status: 200, body: json({ token: 'tok' }) }
        : { status: 401, headers: { 'www-authenticate': `Bearer realm="${TOKEN_REALM}",service="x"` } },
    );
    e = await refusal(client(stillRefused).resolve(ref('reg.example/team/app:v1')));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain('anonymously (no credentials for reg.example)');
    expect(stillRefused.requests).toHaveLength(3);

    const forbidden = new FakeTransport(() => ({
      status: 403,
      body: json({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] }),
    }));
    e = await refusal(client(forbidden, { credentials: credentials() }).resolve(ref('reg.example/team/app:v1')));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain('403 Forbidden (DENIED: requested access to the resource is denied)');
    expect(e.message).toContain('without sending the credentials of user "alice" from /etc/pocker/auth.json');
    expect(forbidden.requests).toHaveLength(1);
  });

  it('sends basic credentials when challenged with Basic, and refuses without any', async () => {
    const t = fakeRegistry({ manifests, blobs: img.blobs, auth: 'basic' });
    await client(t, { credentials: credentials() }).resolve(ref('reg.example/team/app:v1'));
    expect(t.requests.map((r) => r.headers.authorization?.split(' ')[0] ?? '-')).toEqual(['-', 'Basic', 'Basic']);

    const e = await refusal(client(fakeRegistry({ manifests, auth: 'basic' })).resolve(ref('reg.example/team/app:v1')));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain('asks for a user name and password');
    expect(e.message).toContain('anonymously (no credentials for reg.example)');

    const wrong = await refusal(
      client(fakeRegistry({ manifests, auth: 'basic' }), { credentials: credentials('/f.json', 'wrongpw') }).resolve(
        ref('reg.example/team/app:v1'),
      ),
    );
    expect(wrong.code).toBe('REGISTRY_AUTH');
    expect(wrong.message).toContain('with the credentials of user "alice" from /f.json');
    expect(wrong.message).not.toContain('wrongpw');
  });

  it('refuses to send credentials to a plain-HTTP token realm of a secure registry', async () => {
    const t = new FakeTransport(() => ({ status: 401, headers: { 'www-authenticate': 'Bearer realm="http://auth.example/token"' } }));
    const e = await refusal(client(t).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('REGISTRY_PROTOCOL');
    expect(e.message).toContain('is not https');
    expect(t.requests).toHaveLength(1);
  });
});

describe('RegistryClient retries and schemes', () => {
  const img = image();
  const manifests = { 'app:v1': img.manifest };

  it('retries 5xx and connection failures with backoff, then succeeds', async () => {
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (_req, n) =>
        n === 1 ? { status: 503 } : n === 2 ? netError('ECONNRESET') : n === 3 ? netError('ETIMEDOUT', 'timed out') : undefined,
    });
    const r = await client(t).resolve(ref('reg.example/app:v1'));
    expect(r.manifestDigest).toBe(img.digest);
    expect(t.requests).toHaveLength(5);
  });

  it('gives up after the attempts with REGISTRY_UNREACHABLE naming the cause', async () => {
    const refused = new FakeTransport(() => netError('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443'));
    const started = Date.now();
    let e = await refusal(client(refused, { backoffMs: 10 }).resolve(ref('reg.example/app:v1')));
    expect(Date.now() - started).toBeGreaterThanOrEqual(10 + 20 + 40 - 5);
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toBe(
      'image reg.example/app:v1: registry reg.example: GET /v2/app/manifests/v1: connection refused (ECONNREFUSED), after 4 attempts',
    );
    expect(refused.requests).toHaveLength(4);

    const failing = new FakeTransport(() => ({ status: 502 }));
    e = await refusal(client(failing, { attempts: 2 }).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('502 Bad Gateway, after 2 attempts');
    expect(failing.requests).toHaveLength(2);
  });

  it('does not retry other 4xx', async () => {
    const t = new FakeTransport(() => ({ status: 400, body: json({ errors: [{ code: 'NAME_INVALID', message: 'invalid name' }] }) }));
    const e = await refusal(client(t).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('REGISTRY_PROTOCOL');
    expect(e.message).toContain('unexpected status 400 Bad Request (NAME_INVALID: invalid name)');
    expect(t.requests).toHaveLength(1);
  });

  it('honors Retry-After of a 429, up to its cap', async () => {
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (_r, n) => (n === 1 ? { status: 429, headers: { 'retry-after': '60' } } : undefined),
    });
    const started = Date.now();
    await client(t, { maxRetryAfterMs: 150 }).resolve(ref('reg.example/app:v1'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('bounds a request the transport never answers', async () => {
    const t = new FakeTransport(() => new Promise<Answer>(() => {}));
    const started = Date.now();
    const e = await refusal(client(t, { timeoutMs: 10, attempts: 2 }).resolve(ref('reg.example/app:v1')));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toMatch(/timed out/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('falls back to plain HTTP only for localhost, 127/8, ::1 and insecure registries whose server does not speak TLS', async () => {
    expect(plainHttpAllowed('localhost:5000')).toBe(true);
    expect(plainHttpAllowed('127.1.2.3')).toBe(true);
    expect(plainHttpAllowed('[::1]:5000')).toBe(true);
    expect(plainHttpAllowed('reg.example:5000')).toBe(false);
    expect(plainHttpAllowed('reg.example:5000', ['reg.example:5000'])).toBe(true);
    expect(plainHttpAllowed('reg.example:5000', ['reg.example'])).toBe(true);
    expect(plainHttpAllowed('reg.example:5000', ['other.example'])).toBe(false);

    const plain = (): FakeTransport => {
      const inner = fakeRegistry({ manifests, blobs: img.blobs });
      const t = new FakeTransport((req) =>
        req.url.startsWith('https:')
          ? netError('EPROTO', 'ssl3_get_record:wrong version number')
          : inner.request(req).then((r) => ({ ...r })),
      );
      return t;
    };
    for (const host of ['localhost:5000', '127.0.0.1:5000', '[::1]:5000']) {
      const t = plain();
      const c = client(t);
      await c.resolve(ref(`${host}/app:v1`));
      expect(t.requests.map((r) => r.url.split(':')[0])).toEqual(['https', 'http', 'http']);
      await c.resolve(ref(`${host}/app:v1`));
      expect(t.requests.map((r) => r.url.split(':')[0])).toEqual(['https', 'http', 'http', 'http', 'http']);
    }
    const secure = plain();
    let e = await refusal(client(secure).resolve(ref('reg.example:5000/app:v1')));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('does not speak TLS: if it is a plain-HTTP registry, list reg.example:5000 as insecure');
    expect(secure.requests.map((r) => r.url.split(':')[0])).toEqual(['https']);

    const insecure = plain();
    await client(insecure, { insecure: ['reg.example:5000'] }).resolve(ref('reg.example:5000/app:v1'));
    expect(insecure.requests.map((r) => r.url.split(':')[0])).toEqual(['https', 'http', 'http']);

    const untrusted = new FakeTransport(() => netError('SELF_SIGNED_CERT_IN_CHAIN', 'self-signed certificate in certificate chain'));
    e = await refusal(client(untrusted).resolve(ref('localhost:5000/app:v1')));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('TLS certificate not trusted (SELF_SIGNED_CERT_IN_CHAIN');
    expect(untrusted.requests).toHaveLength(1);
  });
});

describe('RegistryClient mirrors', () => {
  const img = image();
  const manifests = { 'library/nginx:1': img.manifest };

  it('tries each mirror, then the registry; a mirror failure falls through', async () => {
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (req) => (req.url.includes('bad.mirror') ? { status: 500 } : req.url.includes('empty.mirror') ? { status: 404 } : undefined),
    });
    const c = client(t, { mirrors: { 'docker.io': ['bad.mirror:5000', 'https://empty.mirror/'] }, attempts: 2 });
    const r = await c.resolve(ref('nginx:1'));
    expect(r.servedBy).toBe('registry-1.docker.io');
    expect(t.paths()).toEqual([
      'bad.mirror:5000/v2/library/nginx/manifests/1',
      'bad.mirror:5000/v2/library/nginx/manifests/1',
      'empty.mirror/v2/library/nginx/manifests/1',
      'registry-1.docker.io/v2/library/nginx/manifests/1',
      `registry-1.docker.io/v2/library/nginx/blobs/${sha(img.config)}`,
    ]);
  });

  it('uses a working mirror for the manifest and the blobs', async () => {
    const t = fakeRegistry({ manifests, blobs: img.blobs });
    const c = client(t, { mirrors: { 'docker.io': ['mirror.local:5000'] } });
    const r = await c.resolve(ref('nginx:1'));
    expect(r.servedBy).toBe('mirror.local:5000');
    await readAll(c.blob(r, r.layers[0]!.descriptor));
    expect(t.paths().every((p) => p.startsWith('mirror.local:5000/'))).toBe(true);
  });

  it("reports the registry's failure with the mirrors' when all fail", async () => {
    const t = fakeRegistry({ manifests: {}, fault: (req) => (req.url.includes('mirror') ? { status: 500 } : undefined) });
    const e = await refusal(client(t, { mirrors: { 'docker.io': ['mirror.local'] }, attempts: 1 }).resolve(ref('nginx:1')));
    expect(e.code).toBe('REGISTRY_NOT_FOUND');
    expect(e.message).toMatch(/registry-1.docker.io.*404.*mirrors tried first: mirror.local: .*500 Internal Server Error/);
  });
});

describe('RegistryClient.blob', () => {
  const big = Buffer.from(Array.from({ length: 20_000 }, (_, i) => i % 251));
  const img = image({ layers: [big, Buffer.from('small')] });
  const manifests = { 'app:v1': img.manifest };

  async function resolved(t: Transport, o: Partial<RegistryOptions> = {}) {
    const c = client(t, o);
    return { c, r: await c.resolve(ref('reg.example/app:v1')) };
  }

  it('streams the verified bytes and reports progress', async () => {
    const { c, r } = await resolved(fakeRegistry({ manifests, blobs: img.blobs }));
    const progress: number[] = [];
    const data = await readAll(c.blob(r, r.layers[0]!.descriptor, (n) => progress.push(n)));
    expect(data.equals(big)).toBe(true);
    expect(progress.at(-1)).toBe(big.length);
    expect(progress).toEqual([...progress].sort((a, b) => a - b));
  });

  it('errors with IMAGE_DIGEST on wrong content, too many or too few bytes', async () => {
    const layer = sha(big);
    const variants: Array<[Answer, RegExp]> = [
      [{ status: 200, body: Buffer.from(big).fill(7, 100, 101) }, /its content has digest/],
      [{ status: 200, body: Buffer.concat([big, Buffer.from('x')]) }, /more than the descriptor's 20000 bytes/],
      [{ status: 200, body: big.subarray(0, 100) }, /sent 100 bytes, the descriptor says 20000/],
      [{ status: 200, headers: { 'content-length': '5' }, body: big }, /announces 5 bytes/],
    ];
    for (const [answer, why] of variants) {
      const base = fakeRegistry({ manifests, blobs: img.blobs });
      const t = new FakeTransport((req) => (req.url.endsWith(layer) ? answer : base.request(req).then((x) => x)));
      const { c, r } = await resolved(t);
      const e = await refusal(readAll(c.blob(r, r.layers[0]!.descriptor)));
      expect(e.code).toBe('IMAGE_DIGEST');
      expect(e.message).toMatch(why);
      expect(e.message).toContain(`blob ${layer}`);
    }
  });

  it('resumes with Range after a connection failure mid-stream, continuing the same hash', async () => {
    const layer = sha(big);
    let drops = 0;
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (req) => {
        if (!req.url.endsWith(layer) || drops >= 2) return undefined;
        drops++;
        const from = Number(/bytes=(\d+)-/.exec(req.headers.range ?? '')?.[1] ?? 0);
        const rest = big.subarray(from);
        return {
          status: from ? 206 : 200,
          headers: from ? { 'content-range': `bytes ${from}-${big.length - 1}/${big.length}` } : ({} as Record<string, string>),
          body: failingBody(rest.subarray(0, 7000)),
        };
      },
    });
    const { c, r } = await resolved(t);
    const progress: number[] = [];
    const data = await readAll(c.blob(r, r.layers[0]!.descriptor, (n) => progress.push(n)));
    expect(data.equals(big)).toBe(true);
    const ranges = t.requests.filter((q) => q.url.endsWith(layer)).map((q) => q.headers.range ?? '-');
    expect(ranges).toEqual(['-', 'bytes=7000-', 'bytes=14000-']);
    expect(progress.at(-1)).toBe(big.length);
  });

  it('errors with REGISTRY_UNREACHABLE when the registry answers 200 to a range request', async () => {
    const layer = sha(big);
    let first = true;
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      rangeSupport: false,
      fault: (req) => {
        if (!req.url.endsWith(layer) || !first) return undefined;
        first = false;
        return { status: 200, body: failingBody(big.subarray(0, 5000)) };
      },
    });
    const { c, r } = await resolved(t);
    const e = await refusal(readAll(c.blob(r, r.layers[0]!.descriptor)));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('failed after 5000 of 20000 bytes and the registry does not resume');
  });

  it('retries 5xx of the resume, and gives up after the attempts without progress', async () => {
    const layer = sha(big);
    let n = 0;
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (req) => {
        if (!req.url.endsWith(layer)) return undefined;
        n++;
        if (n === 1) return { status: 200, body: failingBody(big.subarray(0, 3000)) };
        if (n === 2) return { status: 503 };
        return undefined;
      },
    });
    const { c, r } = await resolved(t);
    expect((await readAll(c.blob(r, r.layers[0]!.descriptor))).equals(big)).toBe(true);

    const dead = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (req) =>
        req.url.endsWith(layer)
          ? req.headers.range
            ? netError('ECONNREFUSED')
            : { status: 200, body: failingBody(big.subarray(0, 3000)) }
          : undefined,
    });
    const d = await resolved(dead);
    const e = await refusal(readAll(d.c.blob(d.r, d.r.layers[0]!.descriptor)));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain('connection refused (ECONNREFUSED), after 4 attempts');
  });

  it('stops fetching when the reader destroys the stream', async () => {
    const layer = sha(big);
    const t = fakeRegistry({
      manifests,
      blobs: img.blobs,
      fault: (req) => (req.url.endsWith(layer) ? { status: 200, body: failingBody(big.subarray(0, 4000)) } : undefined),
    });
    const { c, r } = await resolved(t, { backoffMs: 50 });
    const stream = c.blob(r, r.layers[0]!.descriptor);
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.destroy();
    const before = t.requests.length;
    await new Promise((res) => setTimeout(res, 200));
    expect(t.requests.length).toBe(before);
  });

  it('fetches the blob through the auth flow like the manifest', async () => {
    const t = fakeRegistry({ manifests, blobs: img.blobs, auth: 'bearer' });
    const { c, r } = await resolved(t);
    const data = await readAll(c.blob(r, r.layers[1]!.descriptor));
    expect(data.toString()).toBe('small');
    expect(t.requests.at(-1)!.headers.authorization).toBe('Bearer tok-anon');
  });
});
