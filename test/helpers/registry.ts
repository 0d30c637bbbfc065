/**
 * Real OCI registries for tests: Debian's `docker-registry` (CNCF distribution) run as a child of
 * the test on 127.0.0.1, optionally with htpasswd auth and TLS from a throwaway CA, and images
 * built with umoci and pushed with skopeo. Nothing here contacts the internet or uses the system
 * service; every process and temp dir is removed by stop() (and the processes on exit).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { RegistryClient } from '../../reconciler/image/registry/client.js';
import { loadCredentials } from '../../reconciler/image/registry/credentials.js';
import { NodeTransport } from '../../reconciler/image/registry/transport.js';
import { makeTar, type TarItem } from '../image/oci.js';

/** A registry started by startRegistry. */
export interface TestRegistry {
  /** "127.0.0.1:PORT". */
  host: string;
  /** "http://127.0.0.1:PORT" or "https://...". */
  url: string;
  /** Its storage dir (`<root>/docker/registry/v2/blobs/sha256/<2>/<hex>/data`). */
  root: string;
  /** SIGTERM, SIGKILL after 2 s, then removes its temp dirs. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now (a crash); stop() still cleans up. */
  kill(): void;
  /** Starts it again on the same port and storage after kill() (resolves once it answers). */
  restart(): Promise<void>;
}

/** A file of a test layer: its content, an entry with mode/type, or null for a deleted file (a whiteout). */
export type TestFile =
  | string
  | Buffer
  | null
  | { data?: string | Buffer; mode?: number; type?: 'file' | 'dir' | 'symlink'; linkpath?: string; uid?: number; gid?: number };

/** One layer: files by path (parents are added as directories), and directories made opaque (`.wh..wh..opq`). */
export interface TestLayerSpec {
  files?: Record<string, TestFile>;
  opaque?: string[];
}

/** An image for pushTestImage: layers bottom first, the config's runtime defaults, the platform. */
export interface TestImageSpec {
  layers: TestLayerSpec[];
  config?: {
    entrypoint?: string[];
    cmd?: string[];
    env?: Record<string, string>;
    workingDir?: string;
    user?: string;
    stopSignal?: string;
    labels?: Record<string, string>;
  };
  /** Default: umoci's (linux on the build host's GOARCH). */
  platform?: { os?: string; architecture: string; variant?: string };
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {}
    }
  });
}

/** Runs a program (argv, no shell) within timeoutMs; rejects with its stderr. */
export function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')} failed: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** A TCP port nothing listens on at the moment (bound to 0 and closed). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => resolve(port));
    });
  });
}

/** Makes a CA and a server certificate for 127.0.0.1 (IP SAN) in dir; returns the file paths. */
async function makeCertificates(dir: string): Promise<{ ca: string; cert: string; key: string }> {
  mkdirSync(dir, { recursive: true });
  const f = (n: string): string => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.crt'),
    '-days',
    '2',
    '-subj',
    '/CN=pocker test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  await run('openssl', ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/CN=127.0.0.1']);
  writeFileSync(
    f('server.ext'),
    'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n',
  );
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.crt'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.crt'),
    '-days',
    '2',
    '-extfile',
    f('server.ext'),
  ]);
  return { ca: f('ca.crt'), cert: f('server.crt'), key: f('server.key') };
}

function registryConfig(o: { root: string; port: number; htpasswd?: string; tls?: { cert: string; key: string } }): string {
  const q = (s: string): string => JSON.stringify(s);
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${q(o.root)}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${o.port}`,
    `  secret: ${q(randomBytes(16).toString('hex'))}`,
  ];
  if (o.tls) lines.push('  tls:', `    certificate: ${q(o.tls.cert)}`, `    key: ${q(o.tls.key)}`);
  if (o.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: test', `    path: ${q(o.htpasswd)}`);
  return `${lines.join('\n')}\n`;
}

/** One GET /v2/: the status, or null when nothing answers yet. */
function probe(url: string, ca?: string): Promise<number | null> {
  return new Promise((resolve) => {
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(`${url}/v2/`, { timeout: 1000, agent: false, ...(ca && { ca }) }, (res) => {
      res.resume();
      resolve(res.statusCode ?? null);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/**
 * Starts a registry on a free port of 127.0.0.1 with its own storage and config in a temp dir,
 * resolving when GET /v2/ answers (200, or 401 with auth). With htpasswd, that user (bcrypt);
 * with tls, a certificate for 127.0.0.1 signed by a fresh CA (caFile; certDir holds only the CA,
 * for skopeo's --dest-cert-dir).
 */
export async function startRegistry(
  opts: { htpasswd?: { user: string; password: string }; tls?: boolean } = {},
): Promise<TestRegistry & { caFile?: string; certDir?: string }> {
  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'pocker-registry-'));
  try {
    const root = join(dir, 'storage');
    mkdirSync(root);
    let htpasswd: string | undefined;
    if (opts.htpasswd) {
      htpasswd = join(dir, 'htpasswd');
      writeFileSync(htpasswd, await run('htpasswd', ['-Bbn', opts.htpasswd.user, opts.htpasswd.password]));
    }
    const certs = opts.tls ? await makeCertificates(join(dir, 'tls')) : undefined;
    let certDir: string | undefined;
    if (certs) {
      certDir = join(dir, 'certs.d');
      mkdirSync(certDir);
      writeFileSync(join(certDir, 'ca.crt'), readFileSync(certs.ca));
    }
    const caPem = certs && readFileSync(certs.ca, 'utf8');
    const scheme = certs ? 'https' : 'http';

    let child: ChildProcess | null = null;
    let port = 0;
    const launch = async (): Promise<void> => {
      const config = join(dir, 'config.yml');
      writeFileSync(config, registryConfig({ root, port, ...(htpasswd && { htpasswd }), ...(certs && { tls: certs }) }));
      const c = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      live.add(c);
      let output = '';
      const keep = (b: Buffer): void => {
        output = (output + b.toString('utf8')).slice(-4000);
      };
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      let exited = false;
      c.once('exit', () => {
        exited = true;
        live.delete(c);
      });
      c.once('error', (e) => {
        exited = true;
        output += String(e);
      });
      const deadline = Date.now() + 15_000;
      for (;;) {
        const status = await probe(`${scheme}://127.0.0.1:${port}`, caPem);
        if (status === 200 || status === 401) return;
        if (exited) throw Object.assign(new Error(`docker-registry exited on port ${port}: ${output}`), { output });
        if (Date.now() > deadline) {
          c.kill('SIGKILL');
          throw new Error(`docker-registry did not answer on port ${port} within 15 s: ${output}`);
        }
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    for (let attempt = 1; ; attempt++) {
      port = await freePort();
      try {
        await launch();
        break;
      } catch (e) {
        const output = (e as { output?: string }).output ?? '';
        if (attempt < 5 && /address already in use/i.test(output)) continue;
        throw e;
      }
    }

    const waitExit = (c: ChildProcess, ms: number): Promise<boolean> =>
      c.exitCode !== null || c.signalCode !== null
        ? Promise.resolve(true)
        : new Promise((resolve) => {
            const t = setTimeout(() => resolve(false), ms);
            c.once('exit', () => {
              clearTimeout(t);
              resolve(true);
            });
          });
    let stopped = false;
    const reg: TestRegistry & { caFile?: string; certDir?: string } = {
      host: `127.0.0.1:${port}`,
      url: `${scheme}://127.0.0.1:${port}`,
      root,
      ...(certs && { caFile: certs.ca, certDir }),
      kill: () => {
        child?.kill('SIGKILL');
      },
      restart: async () => {
        if (child) await waitExit(child, 5000);
        await launch();
      },
      stop: async () => {
        if (stopped) return;
        stopped = true;
        const c = child;
        if (c && c.exitCode === null && c.signalCode === null) {
          c.kill('SIGTERM');
          if (!(await waitExit(c, 2000))) {
            c.kill('SIGKILL');
            await waitExit(c, 2000);
          }
        }
        rmSync(dir, { recursive: true, force: true });
      },
    };
    return reg;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/** The tar entries of a layer: parents as directories, deletions as `.wh.` whiteouts, opaque dirs marked. */
function layerItems(layer: TestLayerSpec): TarItem[] {
  const items = new Map<string, TarItem>();
  const clean = (p: string): string => p.replace(/^\/+/, '').replace(/\/+$/, '');
  const addParents = (path: string): void => {
    const parts = path.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join('/');
      if (!items.has(`${dir}/`)) items.set(`${dir}/`, { path: `${dir}/`, type: 'dir' });
    }
  };
  for (const dir of layer.opaque ?? []) {
    const d = clean(dir);
    addParents(`${d}/x`);
    items.set(`${d}/.wh..wh..opq`, { path: `${d}/.wh..wh..opq` });
  }
  for (const [raw, file] of Object.entries(layer.files ?? {})) {
    const path = clean(raw);
    addParents(path);
    if (file === null) {
      const slash = path.lastIndexOf('/');
      const wh = `${path.slice(0, slash + 1)}.wh.${path.slice(slash + 1)}`;
      items.set(wh, { path: wh });
    } else if (typeof file === 'string' || Buffer.isBuffer(file)) {
      items.set(path, { path, data: file });
    } else if (file.type === 'dir') {
      items.set(`${path}/`, { ...file, path: `${path}/`, type: 'dir' });
    } else {
      items.set(path, { ...file, path, type: file.type ?? 'file' } as TarItem);
    }
  }
  return [...items.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Builds one image under tag in an OCI layout (umoci new, raw add-layer per layer, config). */
async function buildImage(layout: string, work: string, tag: string, spec: TestImageSpec): Promise<void> {
  const image = `${layout}:${tag}`;
  await run('umoci', ['new', '--image', image]);
  for (const [i, layer] of spec.layers.entries()) {
    const tar = join(work, `${tag}-layer${i}.tar`);
    writeFileSync(tar, makeTar(layerItems(layer)));
    await run('umoci', ['raw', 'add-layer', '--image', image, tar]);
    rmSync(tar);
  }
  const c = spec.config ?? {};
  const args: string[] = [];
  for (const a of c.entrypoint ?? []) args.push('--config.entrypoint', a);
  for (const a of c.cmd ?? []) args.push('--config.cmd', a);
  for (const [k, v] of Object.entries(c.env ?? {})) args.push('--config.env', `${k}=${v}`);
  for (const [k, v] of Object.entries(c.labels ?? {})) args.push('--config.label', `${k}=${v}`);
  if (c.workingDir !== undefined) args.push('--config.workingdir', c.workingDir);
  if (c.user !== undefined) args.push('--config.user', c.user);
  if (c.stopSignal !== undefined) args.push('--config.stopsignal', c.stopSignal);
  if (spec.platform) args.push('--architecture', spec.platform.architecture, '--os', spec.platform.os ?? 'linux');
  if (args.length) await run('umoci', ['config', '--image', image, ...args]);
}

function skopeoDest(reg: TestRegistry & { certDir?: string }, creds?: { user: string; password: string }): string[] {
  return [
    ...(reg.certDir ? ['--dest-cert-dir', reg.certDir, '--dest-tls-verify=true'] : ['--dest-tls-verify=false']),
    ...(creds ? ['--dest-creds', `${creds.user}:${creds.password}`] : []),
  ];
}

async function withLayout<T>(fn: (layout: string, work: string) => Promise<T>): Promise<T> {
  const work = mkdtempSync(join(tmpdir(), 'pocker-image-'));
  try {
    const layout = join(work, 'oci');
    await run('umoci', ['init', '--layout', layout]);
    return await fn(layout, work);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

async function push(
  reg: TestRegistry,
  layout: string,
  work: string,
  srcTag: string,
  name: string,
  tag: string,
  all: boolean,
  creds?: { user: string; password: string },
): Promise<string> {
  const digestFile = join(work, `${srcTag}.digest`);
  await run('skopeo', [
    'copy',
    '--quiet',
    ...(all ? ['--all', '--preserve-digests'] : []),
    ...skopeoDest(reg, creds),
    '--digestfile',
    digestFile,
    `oci:${layout}:${srcTag}`,
    `docker://${reg.host}/${name}:${tag}`,
  ]);
  return readFileSync(digestFile, 'utf8').trim();
}

/**
 * Builds an image with umoci (layers as file maps; null files become whiteouts, `opaque` dirs get
 * `.wh..wh..opq`; the config's entrypoint, cmd, env, workingDir, user, stopSignal) and pushes it
 * with skopeo to reg as NAME:TAG. Returns the pushed manifest digest.
 */
export async function pushTestImage(
  reg: TestRegistry,
  name: string,
  tag: string,
  spec: TestImageSpec,
  creds?: { user: string; password: string },
): Promise<string> {
  return withLayout(async (layout, work) => {
    await buildImage(layout, work, 'image', spec);
    return push(reg, layout, work, 'image', name, tag, false, creds);
  });
}

/** What pushTestIndex pushed: the index digest and each platform's manifest digest, in order. */
export interface PushedIndex {
  index: string;
  manifests: string[];
}

/**
 * Builds one image per platform and an OCI image index of them (written by hand: umoci makes no
 * indexes), and pushes all with `skopeo copy --all --preserve-digests`.
 */
export async function pushTestIndex(
  reg: TestRegistry,
  name: string,
  tag: string,
  images: Array<TestImageSpec & { platform: { os?: string; architecture: string; variant?: string } }>,
  creds?: { user: string; password: string },
): Promise<PushedIndex> {
  return withLayout(async (layout, work) => {
    for (const [i, spec] of images.entries()) await buildImage(layout, work, `p${i}`, spec);
    const indexJson = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8')) as {
      manifests: Array<{ mediaType: string; digest: string; size: number; annotations?: Record<string, string> }>;
    };
    const byTag = (t: string) => indexJson.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === t)!;
    const entries = images.map((spec, i) => {
      const m = byTag(`p${i}`);
      const p = spec.platform;
      return {
        mediaType: m.mediaType,
        digest: m.digest,
        size: m.size,
        platform: { architecture: p.architecture, os: p.os ?? 'linux', ...(p.variant && { variant: p.variant }) },
      };
    });
    const index = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: entries }),
    );
    const digest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
    writeFileSync(join(layout, 'blobs', 'sha256', digest.slice(7)), index);
    indexJson.manifests.push({
      mediaType: 'application/vnd.oci.image.index.v1+json',
      digest,
      size: index.length,
      annotations: { 'org.opencontainers.image.ref.name': 'index' },
    });
    writeFileSync(join(layout, 'index.json'), JSON.stringify(indexJson));
    const pushed = await push(reg, layout, work, 'index', name, tag, true, creds);
    if (pushed !== digest) throw new Error(`skopeo pushed index ${pushed}, the layout's is ${digest}`);
    return { index: digest, manifests: entries.map((e) => e.digest) };
  });
}

/** Path of a blob in a registry's storage (to corrupt it). */
export function registryBlobPath(reg: TestRegistry, digest: string): string {
  const hex = digest.replace(/^sha256:/, '');
  return join(reg.root, 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
}

/** The busybox layer of the tests as a test image layer (files and symlinks). */
export function layerFiles(dir: string): Record<string, TestFile> {
  const out: Record<string, TestFile> = {};
  const walk = (d: string): void => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      const rel = relative(dir, p);
      const st = lstatSync(p);
      if (st.isSymbolicLink()) out[rel] = { type: 'symlink', linkpath: readlinkSync(p) };
      else if (st.isDirectory()) {
        out[rel] = { type: 'dir', mode: st.mode & 0o7777 };
        walk(p);
      } else if (st.isFile()) out[rel] = { data: readFileSync(p), mode: st.mode & 0o7777 };
    }
  };
  walk(dir);
  return out;
}

/**
 * A test registry for one describe block: started before its tests and stopped after them, with
 * the busybox test layer as image files, and registry clients (`client()`) whose connections are
 * closed at the end.
 */
export function useTestRegistry(o: { timeoutMs: number; attempts: number }): {
  readonly reg: TestRegistry;
  readonly base: Record<string, TestFile>;
  client: () => RegistryClient;
} {
  let reg: TestRegistry | undefined;
  let base: Record<string, TestFile> | undefined;
  const transports: NodeTransport[] = [];
  beforeAll(async () => {
    reg = await startRegistry();
    base = layerFiles(process.env.POCKER_TEST_LAYER!);
  }, 60_000);
  afterAll(async () => {
    for (const t of transports) t.close();
    await reg?.stop();
  });
  return {
    get reg() {
      return reg!;
    },
    get base() {
      return base!;
    },
    client: () => {
      const transport = new NodeTransport({});
      transports.push(transport);
      return new RegistryClient({
        transport,
        credentials: loadCredentials([]),
        timeoutMs: o.timeoutMs,
        attempts: o.attempts,
        backoffMs: 50,
      });
    },
  };
}
