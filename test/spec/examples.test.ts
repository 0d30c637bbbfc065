import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { packageRoot } from '../../reconciler/native.js';

describe('examples', () => {
  const root = join(packageRoot(), 'examples');
  const below = (dir: string): string[] => [dir, ...readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => below(join(dir, e.name)))];
  const dirs = below(root);
  for (const dir of dirs) {
    it(`every spec in ${dir.slice(packageRoot().length + 1)} is valid`, () => {
      const r = loadSpecDir(dir);
      expect(r.errors.map(formatSpecError)).toEqual([]);
      expect(new Set(r.desired.map((d) => d.source.file))).toEqual(new Set(r.files));
    });
  }
  it('includes the demo specs: a busybox httpd and a sleeper', () => {
    expect(loadSpecDir(root).desired.map((d) => d.spec.name)).toEqual(['httpd', 'sleeper']);
  });
});
