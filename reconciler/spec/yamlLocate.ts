import { createRequire } from 'node:module';
import type { Document, LineCounter as LineCounterType, Node } from 'yaml';
import type { PathError } from './normalize.js';
import type { SpecError } from './types.js';

let yamlModule: typeof import('yaml') | undefined;

/**
 * The yaml library, loaded on first use (a pass whose spec files are all cached never pays for
 * it). It is CommonJS: require() skips the ESM wrapper's export analysis of the package. In the
 * bundle `require` is the bundle's own, which has the package inlined; from sources it is Node's.
 */
export const yaml = (): typeof import('yaml') =>
  (yamlModule ??= (
    typeof require === 'function'
      ? // eslint-disable-next-line @typescript-eslint/no-require-imports -- a literal require() is what the bundler inlines
        require('yaml')
      : createRequire(import.meta.url)('yaml')
  ) as typeof import('yaml'));

/** The YAML node at a document path (or the deepest one that exists). */
export function nodeAt(doc: Document, path: Array<string | number>, at: 'key' | 'value'): Node | null {
  let node: unknown = doc.contents;
  let keyNode: unknown = null;
  for (const p of path) {
    keyNode = null;
    if (yaml().isMap(node)) {
      const pair = node.items.find((it) => yaml().isPair(it) && yaml().isScalar(it.key) && String(it.key.value) === String(p));
      if (!pair) return (node as Node) ?? null;
      keyNode = pair.key;
      node = pair.value;
    } else if (yaml().isSeq(node) && typeof p === 'number') {
      const item = node.items[p];
      if (item === undefined) return node as Node;
      node = item;
    } else {
      break;
    }
  }
  if (at === 'key' && keyNode) return keyNode as Node;
  return (node as Node | null) ?? (keyNode as Node | null);
}

/** Where in the file a problem at a document path is: its line and column (the key's, or the value's). */
export function locate(doc: Document, lc: LineCounterType, file: string, err: PathError & { at?: 'key' | 'value' }): SpecError {
  const node = nodeAt(doc, err.path, err.at ?? 'value');
  const offset = node?.range?.[0] ?? doc.range?.[0] ?? 0;
  const pos = lc.linePos(offset);
  return { file, line: pos.line, col: pos.col, message: err.message };
}
