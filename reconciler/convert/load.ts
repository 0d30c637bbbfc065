import type { Document, LineCounter, ScalarTag } from 'yaml';
import { locate, yaml } from '../spec/yamlLocate.js';
import { ConvertError } from './errors.js';
import { isMap, type YamlMap } from './values.js';

/** Most alias expansions a compose file may cost (anchors of x- fields are used by every service; this still stops "billion laughs"). */
export const MAX_COMPOSE_ALIASES = 10_000;

/**
 * YAML 1.1 octals (`0640`), which compose's YAML library still reads as octal: file modes are
 * written so. Every other scalar is read as YAML 1.2's core schema does (`no` is a string).
 */
const OCTAL_INT: ScalarTag = {
  identify: (v) => typeof v === 'number',
  default: true,
  tag: 'tag:yaml.org,2002:int',
  format: 'OCT',
  test: /^0[0-7]+$/,
  resolve: (s) => parseInt(s, 8),
};

/** A parsed compose file: its value with anchors, aliases and merge keys resolved, and where a path of it is written. */
export interface ComposeDocument {
  file: string;
  value: YamlMap;
  /** Line and column of the value (or key) at a path, or of the deepest part of it that is written. */
  at(path: Array<string | number>, where?: 'key' | 'value'): { line: number; col: number };
}

/** Parses a compose file's text; YAML errors are located as `file:line:col`, as spec files' are. */
export function parseCompose(text: string, file: string): ComposeDocument {
  const lc: LineCounter = new (yaml().LineCounter)();
  const docs = yaml().parseAllDocuments(text, {
    lineCounter: lc,
    prettyErrors: true,
    uniqueKeys: true,
    strict: true,
    merge: true,
    customTags: (tags) => [OCTAL_INT, ...tags],
  }) as Document[] | Document;
  const all = Array.isArray(docs) ? docs : [docs];
  const isEmpty = (d: Document): boolean => d.contents === null || (yaml().isScalar(d.contents) && d.contents.value === null);
  const errors = all.flatMap((d) =>
    d.errors.map((e) => {
      const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
      return { file, line: pos.line, col: pos.col, message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') };
    }),
  );
  if (errors.length) throw new ConvertError('YAML', errors);
  const used = all.filter((d) => !isEmpty(d));
  if (used.length === 0) throw ConvertError.at('INVALID', file, 'the compose file is empty');
  if (used.length > 1) {
    const pos = lc.linePos(used[1]!.range?.[0] ?? 0);
    throw ConvertError.at('INVALID', file, 'the compose file holds several YAML documents; convert reads one', pos);
  }
  const doc = used[0]!;
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_COMPOSE_ALIASES });
  } catch (e) {
    throw ConvertError.at('YAML', file, `cannot read the document: ${(e as Error).message}`, undefined, e);
  }
  const at = (path: Array<string | number>, where: 'key' | 'value' = 'value') => {
    const e = locate(doc, lc, file, { path, message: '', at: where });
    return { line: e.line, col: e.col };
  };
  if (!isMap(value)) throw ConvertError.at('INVALID', file, 'the compose file must be a mapping (with a "services" key)', at([]));
  return { file, value, at };
}
