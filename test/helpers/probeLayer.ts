import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';

/** The test helper that tries one privileged operation inside a container (native/probe). */
export const PROBE = join(packageRoot(), 'native', 'build', 'pocker-probe');

/** A layer under root holding only /usr/local/bin/pocker-probe, to stack over the busybox layer. */
export function makeProbeLayer(root: string): string {
  const layer = join(root, 'probe-layer');
  mkdirSync(join(layer, 'usr', 'local', 'bin'), { recursive: true });
  copyFileSync(PROBE, join(layer, 'usr', 'local', 'bin', 'pocker-probe'));
  chmodSync(join(layer, 'usr', 'local', 'bin', 'pocker-probe'), 0o755);
  return layer;
}
