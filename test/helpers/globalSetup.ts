import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';

/**
 * Builds the busybox layer once per test run (into a temp dir, removed at the end) and hands its
 * path to the test workers through POCKER_TEST_LAYER; POCKER_TEST_LAYER_ERROR says why it is missing.
 */
export function setup(): () => void {
  if (process.getuid?.() !== 0) {
    process.env.POCKER_TEST_LAYER_ERROR = 'not running as root';
    return () => {};
  }
  const dir = mkdtempSync(join(tmpdir(), 'pocker-test-layers-'));
  const r = spawnSync('sh', [join(packageRoot(), 'scripts', 'make-busybox-layer.sh'), dir], { encoding: 'utf8' });
  if (r.status === 0) process.env.POCKER_TEST_LAYER = join(dir, 'layers', 'busybox');
  else process.env.POCKER_TEST_LAYER_ERROR = `busybox layer could not be built: ${(r.stderr || r.stdout).trim()}`;
  return () => rmSync(dir, { recursive: true, force: true });
}
