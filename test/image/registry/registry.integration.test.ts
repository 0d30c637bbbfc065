import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ImageError } from '../../../reconciler/image/errors.js';
import { hostArchitecture } from '../../../reconciler/image/layout.js';
import { RegistryClient, type RegistryOptions, type RemoteImage } from '../../../reconciler/image/registry/client.js';
import { loadCredentials, NO_CREDENTIALS } from '../../../reconciler/image/registry/credentials.js';
import { parseReference, type ImageReference } from '../../../reconciler/spec/imageReference.js';
import { NodeTransport, type HttpRequest, type HttpResponse, type Transport } from '../../../reconciler/image/registry/transport.js';
import { freePort, pushTestImage, pushTestIndex, registryBlobPath, startRegistry, type TestRegistry } from '../../helpers/registry.js';

const sha = (b: Buffer): string => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const OTHER_ARCH = hostArchitecture() === 'arm64' ? 'amd64' : 'arm64';

function ref(s: string): ImageReference {
  const r = parseReference(s);
  if ('error' in r) throw new Error(r.error);
  return r;
}

/** A NodeTransport that records what it was asked. */
class RecordingTransport implements Transport {
  readonly requests: HttpRequest[] = [];
  constructor(readonly inner: NodeTransport) {}
  request(req: HttpRequest): Promise<HttpResponse> {
    this.requests.push(req);
    return this.inner.request(req);
  }
}

const transports: NodeTransport[] = [];
function transport(caFiles?: Record<string, string>): RecordingTransport {
  const t = new NodeTransport(caFiles ? { caFiles } : {});
  transports.push(t);
  return new RecordingTransport(t);
}
function client(t: Transport, o: Partial<RegistryOptions> = {}): RegistryClient {
  return new RegistryClient({ transport: t, credentials: NO_CREDENTIALS, timeoutMs: 5000, backoffMs: 50, ...o });
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
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

/** The names in a gzipped tar (ustar headers, as the test helper writes them). */
function tarNames(gz: Buffer): string[] {
  const tar = gunzipSync(gz);
  const names: string[] = [];
  for (let off = 0; off + 512 <= tar.length;) {
    const name = tar
      .subarray(off, off + 100)
      .toString('utf8')
      .replace(/\0.*$/s, '');
    if (!name) break;
    names.push(name);
    const size = parseInt(
      tar
        .subarray(off + 124, off + 136)
        .toString('utf8')
        .replace(/\0.*$/s, '')
        .trim() || '0',
      8,
    );
    off += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}

const started: TestRegistry[] = [];
async function registry(opts?: Parameters<typeof startRegistry>[0]): ReturnType<typeof startRegistry> {
  const r = await startRegistry(opts);
  started.push(r);
  return r;
}

const work = mkdtempSync(join(tmpdir(), 'pocker-registry-test-'));
afterAll(async () => {
  for (const t of transports) t.close();
  await Promise.all(started.map((r) => r.stop()));
  rmSync(work, { recursive: true, force: true });
});

describe('a plain registry on 127.0.0.1', () => {
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await registry();
  });

  it('resolves a multi-layer image and pulls every blob, verified', async () => {
    const pushed = await pushTestImage(reg, 'team/app', 'v1', {
      layers: [
        { files: { 'etc/hello': 'hello\n', 'etc/old': 'old', 'var/cache/a': 'a' } },
        { files: { 'etc/old': null, 'bin/tool': { data: '#!/bin/sh\n', mode: 0o755 } }, opaque: ['var/cache'] },
        { files: { 'srv/data.bin': randomBytes(100_000) } },
      ],
      config: {
        entrypoint: ['/bin/tool'],
        cmd: ['--serve'],
        env: { MODE: 'test' },
        workingDir: '/srv',
        user: '1000:1000',
        stopSignal: 'SIGINT',
      },
    });
    const t = transport();
    const c = client(t);
    const image = await c.resolve(ref(`${reg.host}/team/app:v1`));
    expect(image.manifestDigest).toBe(pushed);
    expect(image.servedBy).toBe(reg.host);
    expect(image.indexDigest).toBeUndefined();
    expect(image.layers).toHaveLength(3);
    expect(image.layers.every((l) => l.compression === 'gzip')).toBe(true);
    const config = JSON.parse(image.config.bytes.toString()) as {
      config: Record<string, unknown>;
      rootfs: { diff_ids: string[] };
      architecture: string;
    };
    expect(config.architecture).toBe(hostArchitecture());
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(config.config).toMatchObject({
      Entrypoint: ['/bin/tool'],
      Cmd: ['--serve'],
      WorkingDir: '/srv',
      User: '1000:1000',
      StopSignal: 'SIGINT',
    });
    expect(config.config.Env).toContain('MODE=test');

    const progress: number[] = [];
    const blobs: Buffer[] = [];
    for (const l of image.layers) blobs.push(await readAll(c.blob(image, l.descriptor, (n) => progress.push(n))));
    blobs.forEach((b, i) => {
      expect(sha(b)).toBe(image.layers[i]!.descriptor.digest);
      expect(b.equals(readFileSync(registryBlobPath(reg, image.layers[i]!.descriptor.digest)))).toBe(true);
      expect(sha(gunzipSync(b))).toBe(config.rootfs.diff_ids[i]);
    });
    expect(progress.length).toBeGreaterThanOrEqual(3);
    expect(tarNames(blobs[1]!)).toEqual(expect.arrayContaining(['etc/.wh.old', 'var/cache/.wh..wh..opq', 'bin/tool']));
    expect(t.requests.every((r) => r.url.startsWith(`http://${reg.host}/`) || r.url.startsWith(`https://${reg.host}/`))).toBe(true);
  });

  it("resolves an index to this host's platform, or the one asked for; refuses one without it", async () => {
    const pushed = await pushTestIndex(reg, 'multi', 'v1', [
      { layers: [{ files: { arch: OTHER_ARCH } }], platform: { architecture: OTHER_ARCH } },
      { layers: [{ files: { arch: hostArchitecture() } }], platform: { architecture: hostArchitecture() } },
    ]);
    const c = client(transport());
    const mine = await c.resolve(ref(`${reg.host}/multi:v1`));
    expect(mine.indexDigest).toBe(pushed.index);
    expect(mine.manifestDigest).toBe(pushed.manifests[1]);
    const other = await client(transport(), { platform: { os: 'linux', architecture: OTHER_ARCH } }).resolve(ref(`${reg.host}/multi:v1`));
    expect(other.manifestDigest).toBe(pushed.manifests[0]);
    const byDigest = await c.resolve(ref(`${reg.host}/multi@${pushed.index}`));
    expect(byDigest.manifestDigest).toBe(pushed.manifests[1]);

    const only = await pushTestIndex(reg, 'foreign', 'v1', [
      { layers: [{ files: { a: '1' } }], platform: { architecture: OTHER_ARCH, variant: OTHER_ARCH === 'arm64' ? 'v8' : undefined } },
    ]);
    const e = await refusal(c.resolve(ref(`${reg.host}/foreign:v1`)));
    expect(e.code).toBe('IMAGE_PLATFORM');
    expect(e.message).toContain(`index ${only.index} has no manifest for linux/${hostArchitecture()}`);
    expect(e.message).toContain(`it offers: linux/${OTHER_ARCH}`);
  });

  it('says REGISTRY_NOT_FOUND for an unknown tag or repository', async () => {
    await pushTestImage(reg, 'known', 'v1', { layers: [{ files: { a: '1' } }] });
    const c = client(transport());
    for (const name of ['known:nope', 'unknown/repo:v1']) {
      const e = await refusal(c.resolve(ref(`${reg.host}/${name}`)));
      expect(e.code).toBe('REGISTRY_NOT_FOUND');
      expect(e.message).toContain(`registry ${reg.host}`);
      expect(e.message).toMatch(/404 Not Found \((MANIFEST_UNKNOWN|NAME_UNKNOWN)/);
    }
  });

  it('errors with IMAGE_DIGEST when a blob is corrupted in the storage', async () => {
    await pushTestImage(reg, 'corrupt', 'v1', { layers: [{ files: { 'data.bin': randomBytes(50_000) } }] });
    const c = client(transport());
    const image = await c.resolve(ref(`${reg.host}/corrupt:v1`));
    const layer = image.layers[0]!.descriptor;
    const path = registryBlobPath(reg, layer.digest);
    const original = readFileSync(path);
    writeFileSync(path, Buffer.from(original).reverse());
    const e = await refusal(readAll(c.blob(image, layer)));
    expect(e.code).toBe('IMAGE_DIGEST');
    expect(e.message).toContain(`blob ${layer.digest}: its content has digest ${sha(Buffer.from(original).reverse())}`);
  });
});

describe('a registry with htpasswd auth', () => {
  const user = 'alice';
  const password = 'correct-horse-battery';
  let reg: TestRegistry;
  beforeAll(async () => {
    reg = await registry({ htpasswd: { user, password } });
    await pushTestImage(reg, 'private/app', 'v1', { layers: [{ files: { secret: 'data' } }] }, { user, password });
  });

  const authFile = (name: string, pw: string): string => {
    const path = join(work, name);
    writeFileSync(path, JSON.stringify({ auths: { [reg.host]: { auth: Buffer.from(`${user}:${pw}`).toString('base64') } } }));
    return path;
  };

  it('pulls with the right credentials from an auth.json file', async () => {
    const c = client(transport(), { credentials: loadCredentials([join(work, 'missing.json'), authFile('right.json', password)]) });
    const image = await c.resolve(ref(`${reg.host}/private/app:v1`));
    const blob = await readAll(c.blob(image, image.layers[0]!.descriptor));
    expect(sha(blob)).toBe(image.layers[0]!.descriptor.digest);
  });

  it('refuses wrong credentials with REGISTRY_AUTH naming the file, not the password', async () => {
    const file = authFile('wrong.json', 'not-the-password');
    const e = await refusal(client(transport(), { credentials: loadCredentials([file]) }).resolve(ref(`${reg.host}/private/app:v1`)));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain(`registry ${reg.host}`);
    expect(e.message).toContain(`with the credentials of user "alice" from ${file}`);
    expect(e.message).toContain('401 Unauthorized');
    expect(e.message).not.toContain('not-the-password');
  });

  it('refuses an anonymous pull with REGISTRY_AUTH', async () => {
    const e = await refusal(client(transport()).resolve(ref(`${reg.host}/private/app:v1`)));
    expect(e.code).toBe('REGISTRY_AUTH');
    expect(e.message).toContain(`anonymously (no credentials for ${reg.host})`);
  });
});

describe('a TLS registry with a private CA', () => {
  let reg: TestRegistry & { caFile?: string };
  beforeAll(async () => {
    reg = await registry({ tls: true });
    await pushTestImage(reg, 'secure', 'v1', { layers: [{ files: { a: 'tls' } }] });
  });

  it('is pulled from over https when its CA file is given', async () => {
    const t = transport({ [reg.host]: reg.caFile! });
    const c = client(t);
    const image = await c.resolve(ref(`${reg.host}/secure:v1`));
    expect(sha(await readAll(c.blob(image, image.layers[0]!.descriptor)))).toBe(image.layers[0]!.descriptor.digest);
    expect(t.requests.every((r) => r.url.startsWith('https://'))).toBe(true);
  });

  it('fails with a clear TLS error without it, at once', async () => {
    const t = transport();
    const e = await refusal(client(t).resolve(ref(`${reg.host}/secure:v1`)));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain(`registry ${reg.host}`);
    expect(e.message).toMatch(
      /TLS certificate not trusted \((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)/,
    );
    expect(t.requests).toHaveLength(1);
  });
});

describe('an unreachable or failing registry', () => {
  it('gives REGISTRY_UNREACHABLE after the retries when nothing listens, bounded in time', async () => {
    const port = await freePort();
    const t = transport();
    const begin = Date.now();
    const e = await refusal(new RegistryClient({ transport: t, credentials: NO_CREDENTIALS }).resolve(ref(`127.0.0.1:${port}/app:v1`)));
    const elapsed = Date.now() - begin;
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain(
      `registry 127.0.0.1:${port}: GET /v2/app/manifests/v1: connection refused (ECONNREFUSED), after 4 attempts`,
    );
    expect(t.requests).toHaveLength(4);
    expect(elapsed).toBeGreaterThanOrEqual(1300);
    expect(elapsed).toBeLessThan(5000);
  });

  async function bigImage(reg: TestRegistry): Promise<void> {
    await pushTestImage(reg, 'big', 'v1', { layers: [{ files: { 'big.bin': randomBytes(16 << 20) } }] });
  }

  /** Starts reading the big layer, kills the registry after the first chunk, then reads on. */
  async function killMidBlob(reg: TestRegistry, c: RegistryClient, image: RemoteImage, afterKill?: () => Promise<void>): Promise<Buffer> {
    const stream = c.blob(image, image.layers[0]!.descriptor);
    const chunks: Buffer[] = [];
    return new Promise<Buffer>((resolve, reject) => {
      stream.once('data', (first: Buffer) => {
        chunks.push(first);
        stream.pause();
        reg.kill();
        void (afterKill?.() ?? Promise.resolve()).then(() => {
          stream.on('data', (b: Buffer) => chunks.push(b));
          stream.resume();
        }, reject);
      });
      stream.once('end', () => resolve(Buffer.concat(chunks)));
      stream.once('error', reject);
    });
  }

  it('ends a blob stream with REGISTRY_UNREACHABLE when the registry dies mid-blob', async () => {
    const reg = await registry();
    await bigImage(reg);
    const c = client(transport(), { attempts: 3, backoffMs: 100, timeoutMs: 3000 });
    const image = await c.resolve(ref(`${reg.host}/big:v1`));
    const begin = Date.now();
    const e = await refusal(killMidBlob(reg, c, image));
    expect(e.code).toBe('REGISTRY_UNREACHABLE');
    expect(e.message).toContain(`blobs/${image.layers[0]!.descriptor.digest}`);
    expect(e.message).toMatch(/resuming after \d+ of \d+ bytes/);
    expect(e.message).toMatch(/connection refused|connection (failed|reset)/);
    expect(Date.now() - begin).toBeLessThan(10_000);
  });

  it('resumes a blob with a range request when the registry comes back', async () => {
    const reg = await registry();
    await bigImage(reg);
    const t = transport();
    const c = client(t, { attempts: 8, backoffMs: 100, timeoutMs: 3000 });
    const image = await c.resolve(ref(`${reg.host}/big:v1`));
    const layer = image.layers[0]!.descriptor;
    const data = await killMidBlob(reg, c, image, () => reg.restart());
    expect(data.length).toBe(layer.size);
    expect(sha(data)).toBe(layer.digest);
    const ranges = t.requests.filter((r) => r.url.endsWith(layer.digest) && r.headers.range).map((r) => r.headers.range);
    expect(ranges.length).toBeGreaterThanOrEqual(1);
    expect(ranges[0]).toMatch(/^bytes=[1-9]\d*-$/);
  });
});

describe('NodeTransport', () => {
  const servers: http.Server[] = [];
  const seen: Array<{ url: string; authorization?: string }> = [];
  let a = '';
  let b = '';

  function serve(handler: http.RequestListener): Promise<string> {
    const s = http.createServer(handler);
    servers.push(s);
    return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));
  }

  beforeAll(async () => {
    b = await serve((req, res) => {
      seen.push({ url: `b${req.url}`, ...(req.headers.authorization && { authorization: req.headers.authorization }) });
      res.end('from b');
    });
    a = await serve((req, res) => {
      seen.push({ url: `a${req.url}`, ...(req.headers.authorization && { authorization: req.headers.authorization }) });
      if (req.url === '/cross') res.writeHead(302, { location: `${b}/blob?sig=secret` }).end();
      else if (req.url === '/same') res.writeHead(307, { location: '/final' }).end();
      else if (req.url?.startsWith('/loop')) res.writeHead(301, { location: `/loop${Number(req.url.slice(5) || 0) + 1}` }).end();
      else if (req.url === '/silent') req.socket.setTimeout(0);
      else if (req.url === '/stall') res.writeHead(200, { 'content-length': '100' }).write('partial');
      else res.end('final');
    });
  });
  afterAll(() => {
    for (const s of servers) {
      s.closeAllConnections();
      s.close();
    }
  });

  const get = (t: NodeTransport, url: string, timeoutMs = 2000): Promise<HttpResponse> =>
    t.request({ method: 'GET', url, headers: { authorization: 'Bearer t0ken' }, timeoutMs });

  it('follows redirects, dropping Authorization when the origin changes', async () => {
    const t = transport().inner;
    const cross = await get(t, `${a}/cross`);
    expect(cross.status).toBe(200);
    expect((await readAll(cross.body)).toString()).toBe('from b');
    const same = await get(t, `${a}/same`);
    expect((await readAll(same.body)).toString()).toBe('final');
    expect(seen).toEqual([
      { url: 'a/cross', authorization: 'Bearer t0ken' },
      { url: 'b/blob?sig=secret' },
      { url: 'a/same', authorization: 'Bearer t0ken' },
      { url: 'a/final', authorization: 'Bearer t0ken' },
    ]);
  });

  it('follows at most 5 redirects', async () => {
    const e = await get(transport().inner, `${a}/loop`).catch((x: unknown) => x as NodeJS.ErrnoException);
    expect(e).toBeInstanceOf(Error);
    expect((e as NodeJS.ErrnoException).code).toBe('ERR_TOO_MANY_REDIRECTS');
    expect((e as Error).message).toContain('more than 5 redirects');
  });

  it('times out waiting for headers, and on a body that stalls', async () => {
    const t = transport().inner;
    let begin = Date.now();
    const e = await get(t, `${a}/silent`, 300).catch((x: unknown) => x as NodeJS.ErrnoException);
    expect((e as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    expect(Date.now() - begin).toBeLessThan(1500);
    const stalled = await get(t, `${a}/stall`, 300);
    begin = Date.now();
    const bodyError = await readAll(stalled.body).catch((x: unknown) => x as NodeJS.ErrnoException);
    expect((bodyError as NodeJS.ErrnoException).code).toBe('ETIMEDOUT');
    expect(Date.now() - begin).toBeLessThan(1500);
  });

  it('rejects with the Node error when nothing listens, and refuses an unreadable CA file', async () => {
    const port = await freePort();
    const e = await get(transport().inner, `http://127.0.0.1:${port}/v2/`).catch((x: unknown) => x as NodeJS.ErrnoException);
    expect((e as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
    expect(() => new NodeTransport({ caFiles: { 'reg.example': join(work, 'no-ca.pem') } })).toThrow(
      /CA file .*no-ca.pem for registry reg.example cannot be read \(ENOENT\)/,
    );
  });
});
