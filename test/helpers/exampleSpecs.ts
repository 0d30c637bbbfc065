import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import type { TestInstance } from './instance.js';

/** The busybox layer as the example specs name it (where scripts/make-busybox-layer.sh puts it by default). */
export const EXAMPLE_LAYER = '/var/lib/pocker/layers/busybox';

/**
 * Writes the spec files of examples/<dir> into the instance's spec dir, unchanged except that
 * the default busybox layer becomes the test run's layer. Returns the names of the containers
 * they define; fails when a file does not name the default layer or a spec is invalid.
 */
export function writeExampleSpecs(inst: TestInstance, dir: string): string[] {
  const src = join(packageRoot(), 'examples', dir);
  for (const file of readdirSync(src).filter((f) => /\.ya?ml$/.test(f))) {
    const text = readFileSync(join(src, file), 'utf8');
    if (!text.includes(EXAMPLE_LAYER)) throw new Error(`examples/${dir}/${file} does not use ${EXAMPLE_LAYER}`);
    inst.writeSpec(file, text.replaceAll(EXAMPLE_LAYER, inst.layer));
  }
  const loaded = loadSpecDir(inst.specDir);
  if (loaded.errors.length) throw new Error(`invalid specs in examples/${dir}: ${JSON.stringify(loaded.errors)}`);
  return loaded.desired.map((d) => d.spec.name);
}
