import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecDir, loadSpecFiles } from '../../reconciler/spec/load.js';
import { isSpecFileName } from '../../reconciler/spec/parse.js';
import { loadInstanceConfig } from '../../reconciler/instance/config.js';
import type { DesiredContainer, SpecError } from '../../reconciler/spec/types.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { packageRoot } from '../../reconciler/native.js';

/** The name an instance config has among the examples (examples/systemd/pocker.yaml): not a container spec. */
const INSTANCE_CONFIG = 'pocker.yaml';

/** The spec files of a dir that also holds an instance config. */
function loadSpecFilesOf(dir: string): { errors: SpecError[]; desired: DesiredContainer[]; files: string[] } {
  const files = readdirSync(dir)
    .filter((f) => isSpecFileName(f) && f !== INSTANCE_CONFIG)
    .sort();
  return { ...loadSpecFiles(dir, files, (f) => join(dir, f)), files };
}

describe('examples', () => {
  const root = join(packageRoot(), 'examples');
  const below = (dir: string): string[] => [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => below(join(dir, e.name))),
  ];
  const dirs = below(root);
  for (const dir of dirs) {
    const configs = readdirSync(dir).filter((f) => f === INSTANCE_CONFIG);
    it(`every spec in ${dir.slice(packageRoot().length + 1)} is valid${configs.length ? ', and its instance config' : ''}`, () => {
      const r = configs.length ? loadSpecFilesOf(dir) : loadSpecDir(dir);
      expect(r.errors.map(formatSpecError)).toEqual([]);
      expect(new Set(r.desired.map((d) => d.source.file))).toEqual(new Set(r.files));
      for (const c of configs) expect(loadInstanceConfig(join(dir, c), true).path).toBe(join(dir, c));
    });
  }
  it('includes the demo specs: a busybox httpd and a sleeper', () => {
    expect(loadSpecDir(root).desired.map((d) => d.spec.name)).toEqual(['httpd', 'sleeper']);
  });
});
