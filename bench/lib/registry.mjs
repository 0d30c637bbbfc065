// A local OCI registry and the image the pull suite pulls from it. The registry is Debian's
// `docker-registry` (CNCF distribution) on 127.0.0.1 and a free port, with filesystem storage in
// a temp dir; `stop()` ends it by pid and removes that dir. The image is a Debian 12 rootfs
// (examples/debian/make-debian-layer.sh) plus two small app layers, built with umoci into an OCI
// layout. Both the rootfs and the layout are caches under CACHE_DIR that survive between runs:
// the rootfs takes a download from a Debian mirror, the layout a gzip of ~140 MB.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the Debian rootfs and its OCI layout are kept between bench runs. */
export const CACHE_DIR = '/var/cache/pocker-bench';
/** The tag of the image in the cached layout. */
export const LAYOUT_TAG = 'base';
// Bumped when the recipe below changes, so an older cached layout is rebuilt.
const RECIPE = 'debian-bookworm + 2 app layers, v1';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Runs a program to completion; throws with the tail of its output when it fails. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 * 2 ** 20, ...opts });
  if (r.error) throw new Error(`bench: ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`bench: ${cmd} ${args.join(' ')} exited ${r.status}: ${`${r.stdout}${r.stderr}`.slice(-2000)}`);
  return r.stdout;
}

/** A TCP port of 127.0.0.1 nothing listens on at the moment (bound to 0 and closed). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function registryConfig(root, port) {
  return [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${JSON.stringify(root)}`,
    'http:',
    `  addr: 127.0.0.1:${port}`,
    `  secret: ${randomBytes(16).toString('hex')}`,
    '',
  ].join('\n');
}

/** The status of one GET /v2/, or null while nothing answers. */
function probe(port) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/v2/', timeout: 1000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** Resolves once the child has exited, or with false after ms. */
function exited(child, ms) {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(t);
      resolve(true);
    });
  });
}

/** Starts docker-registry on `port` with `dir`'s storage; resolves with the child once GET /v2/ answers 200. */
async function launch(dir, port) {
  const config = join(dir, 'config.yml');
  writeFileSync(config, registryConfig(join(dir, 'storage'), port));
  const child = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  child.stderr.on('data', (b) => (output = (output + b).slice(-4000)));
  child.once('error', (e) => (output += String(e)));
  const deadline = Date.now() + 15_000;
  for (;;) {
    if ((await probe(port)) === 200) return child;
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      await exited(child, 2000);
      throw Object.assign(new Error(`bench: docker-registry on port ${port} did not come up: ${output}`), { output });
    }
    await sleep(50);
  }
}

/**
 * Starts a registry on 127.0.0.1 and a free port (another port when the one picked was taken in
 * between), its config and storage in a temp dir under base (the bench's scratch dir, which
 * BenchEnv removes even on SIGINT). Returns { host: "127.0.0.1:PORT", root, stop() }; stop() is
 * idempotent, and the process is also killed should the bench exit without calling it.
 */
export async function startRegistry(base = tmpdir()) {
  const dir = mkdtempSync(join(base, 'registry-'));
  mkdirSync(join(dir, 'storage'));
  let child;
  let port;
  try {
    for (let attempt = 1; !child; attempt++) {
      port = await freePort();
      try {
        child = await launch(dir, port);
      } catch (e) {
        if (attempt >= 5 || !/address already in use/i.test(e.output ?? '')) throw e;
      }
    }
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  let stopped = false;
  return {
    host: `127.0.0.1:${port}`,
    root: join(dir, 'storage'),
    async stop() {
      if (stopped) return;
      stopped = true;
      process.removeListener('exit', onExit);
      child.kill('SIGTERM');
      if (!(await exited(child, 2000))) {
        child.kill('SIGKILL');
        await exited(child, 2000);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The cached Debian 12 rootfs, built by the example's script when it is not there (needs a Debian mirror). */
export function debianRootfs(root) {
  const dest = join(CACHE_DIR, 'debian-bookworm');
  if (!existsSync(join(dest, 'etc', 'pocker-layer'))) {
    process.stderr.write(`bench: building the Debian 12 rootfs into ${dest} (once; kept for later runs)\n`);
    run('sh', [join(root, 'examples', 'debian', 'make-debian-layer.sh'), dest]);
  }
  return dest;
}

/** Writes a small layer's files (path -> content) into a fresh dir and tars it; returns the tar. */
function smallLayerTar(work, name, files) {
  const dir = join(work, name);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content, { mode: path.includes('/bin/') ? 0o755 : 0o644 });
  }
  return tarOf(dir, join(work, `${name}.tar`));
}

/**
 * Tars a tree as `docker build` lays out a layer: relative names without "./" or "/" entries
 * (umoci insert writes a "/" entry, which real images do not have), numeric owners, sorted.
 */
function tarOf(dir, out) {
  const top = readdirSync(dir).sort();
  run('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', out, '--', ...top]);
  return out;
}

/** Builds the image into a fresh OCI layout: the rootfs as one gzip layer, two small app layers on top, a config. */
function buildLayout(rootfs, layout, work) {
  const image = `${layout}:${LAYOUT_TAG}`;
  run('umoci', ['init', '--layout', layout]);
  run('umoci', ['new', '--image', image]);
  const layers = [
    tarOf(rootfs, join(work, 'rootfs.tar')),
    smallLayerTar(work, 'app', {
      'usr/local/bin/bench-app': '#!/bin/sh\nexec cat /srv/bench-app/index.html\n',
      'etc/bench-app/app.conf': 'listen = 8080\nworkers = 2\n',
      'etc/bench-app/env': 'APP_ENV=bench\n',
    }),
    smallLayerTar(work, 'site', {
      'srv/bench-app/index.html': '<!doctype html><title>bench</title><p>pocker pull bench</p>\n',
      'srv/bench-app/VERSION': '1.0.0\n',
      'etc/bench-app/app.conf': 'listen = 8080\nworkers = 4\n',
    }),
  ];
  for (const tar of layers) {
    run('umoci', ['raw', 'add-layer', '--image', image, tar]);
    rmSync(tar);
  }
  run('umoci', ['config', '--image', image, '--config.cmd', '/usr/local/bin/bench-app', '--config.env', 'LANG=C.UTF-8']);
  run('umoci', ['gc', '--layout', layout]);
}

/**
 * The cached OCI layout of the bench image (tag LAYOUT_TAG), built from the cached rootfs when it
 * is missing or was built from another rootfs or recipe. Built in a temp dir next to it and
 * renamed in, so an interrupted build leaves no half layout.
 */
export function debianLayout(rootfs) {
  const dest = join(CACHE_DIR, 'debian-oci');
  const source = `${RECIPE}\n${readFileSync(join(rootfs, 'etc', 'pocker-layer'), 'utf8')}`;
  const marker = join(dest, 'pocker-bench-source');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === source) return dest;
  for (const e of readdirSync(CACHE_DIR))
    if (e.startsWith('.debian-oci.tmp.')) rmSync(join(CACHE_DIR, e), { recursive: true, force: true });
  process.stderr.write(`bench: building the OCI layout of the pull image into ${dest} (once; kept for later runs)\n`);
  const tmp = join(CACHE_DIR, `.debian-oci.tmp.${process.pid}`);
  const work = mkdtempSync(join(tmpdir(), 'pocker-bench-layers-'));
  try {
    buildLayout(rootfs, join(tmp, 'layout'), work);
    writeFileSync(join(tmp, 'layout', 'pocker-bench-source'), source);
    rmSync(dest, { recursive: true, force: true });
    renameSync(join(tmp, 'layout'), dest);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

/** The layer blobs (files of the layout) of the tagged image, bottom first, with their sizes. */
export function layoutLayers(layout, tag = LAYOUT_TAG) {
  const blob = (digest) => join(layout, 'blobs', ...digest.split(':'));
  const index = JSON.parse(readFileSync(join(layout, 'index.json'), 'utf8'));
  const entry = index.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === tag);
  if (!entry) throw new Error(`bench: no ${tag} in ${layout}`);
  const manifest = JSON.parse(readFileSync(blob(entry.digest), 'utf8'));
  return manifest.layers.map((l) => ({ path: blob(l.digest), size: l.size, digest: l.digest }));
}

/** Pushes the layout's tagged image to `docker://REF` over plain HTTP. */
export function pushImage(layout, ref, tag = LAYOUT_TAG) {
  execFileSync('skopeo', ['copy', '--quiet', '--dest-tls-verify=false', `oci:${layout}:${tag}`, `docker://${ref}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}
