import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

/**
 * The folders of reconciler/, bottom first. A folder may import from its own floor's files and
 * from the floors below; never from a floor above, nor from another folder of its own floor.
 */
const FLOORS: readonly string[][] = [
  ['native.ts', 'bundle.ts', 'builtins.ts', 'log', 'logs'],
  ['host'],
  ['spec'],
  ['state', 'limits', 'convert', 'kube'],
  ['cgroups'],
  ['observe'],
  ['plan'],
  ['network', 'image'],
  ['runtime'],
  ['instance'],
  ['controller'],
  ['cli'],
];

const src = join(packageRoot(), 'reconciler');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  );
}

/** The folder of reconciler/ a file belongs to (its first path segment). */
const folderOf = (file: string): string => relative(src, file).split('/')[0]!;
const floorOf = (folder: string): number => FLOORS.findIndex((f) => f.includes(folder));

/** Every relative import and export-from of a file, type-only ones included, with its target's folder. */
function imports(file: string): Array<{ spec: string; folder: string }> {
  const text = readFileSync(file, 'utf8');
  const out: Array<{ spec: string; folder: string }> = [];
  for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/g)) {
    const target = resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'));
    out.push({ spec: m[1]!, folder: folderOf(target) });
  }
  for (const m of text.matchAll(/import\('(\.[^']+)'\)/g))
    out.push({ spec: m[1]!, folder: folderOf(resolve(dirname(file), m[1]!.replace(/\.js$/, '.ts'))) });
  return out;
}

describe('layering of reconciler/', () => {
  it('puts every folder on a floor', () => {
    const folders = [...new Set(sources(src).map(folderOf))].sort();
    expect(folders.filter((f) => floorOf(f) < 0)).toEqual([]);
  });

  it('never imports upward, nor sideways into another folder of the same floor', () => {
    const wrong: string[] = [];
    for (const file of sources(src)) {
      const from = folderOf(file);
      for (const imp of imports(file)) {
        if (imp.folder === from) continue;
        const [a, b] = [floorOf(from), floorOf(imp.folder)];
        if (b >= a) wrong.push(`${relative(src, file)} imports ${imp.spec} (${imp.folder}, floor ${b}; ${from} is on floor ${a})`);
      }
    }
    expect(wrong).toEqual([]);
  });
});
