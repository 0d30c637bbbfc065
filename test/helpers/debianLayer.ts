import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';

/** Where the Debian layers the tests build are kept between runs. */
export const LAYER_CACHE = '/var/lib/pocker-test-cache';

/** Longest a layer build may take (debootstrap from the network). */
export const LAYER_BUILD_TIMEOUT_MS = 15 * 60_000;

/**
 * A Debian 12 layer with the given packages at `<cache>/<name>`, built once by the project's
 * debootstrap example (examples/debian/make-debian-layer.sh) and kept between runs; resolves to its path.
 */
export function debianLayer(name: string, packages: string[]): Promise<string> {
  const dest = join(LAYER_CACHE, name);
  if (existsSync(join(dest, 'etc', 'pocker-layer'))) return Promise.resolve(dest);
  return new Promise((resolve, reject) => {
    const script = join(packageRoot(), 'examples', 'debian', 'make-debian-layer.sh');
    const child = spawn('sh', [script, dest], {
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, INCLUDE: packages.join(',') },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    const timer = setTimeout(() => process.kill(-child.pid!, 'SIGTERM'), LAYER_BUILD_TIMEOUT_MS);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve(dest);
      else reject(new Error(`building the ${name} layer failed (${signal ?? `exit ${code}`}):\n${out}`));
    });
  });
}

/** The Debian layer of the app tests (redis-server and redis-cli, nginx-light): one build serves them all. */
export function appsLayer(): Promise<string> {
  return debianLayer('debian-apps', ['redis-server', 'nginx-light']);
}
