import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { packageRoot } from '../../reconciler/native.js';

describe('examples', () => {
  const root = join(packageRoot(), 'examples');
  const dirs = [root, ...readdirSync(root, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(root, e.name))];
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
