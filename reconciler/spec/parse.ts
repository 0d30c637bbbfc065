import { basename, extname } from 'node:path';
import type { Document } from 'yaml';
import { locate, yaml } from './yamlLocate.js';
import { withSpecHash } from './hash.js';
import { normalizeSpec, type PathError, type RawSpec } from './normalize.js';
import { translateSchemaErrors, type LocatedPathError } from './schemaErrors.js';
import { schemaValidator } from './schemaValidator.js';
import type { DesiredContainer, SpecError, SpecSource } from './types.js';
import { importKubeDocuments, isKubeDocument, type KubeDocument } from './kube/import.js';

/** Largest spec file read; anything bigger is refused before parsing. */
export const MAX_SPEC_FILE_BYTES = 1 << 20;
/** Most aliases a document may expand (defeats "billion laughs"). */
export const MAX_ALIASES = 100;
/** Most documents in one file. */
export const MAX_DOCUMENTS = 1000;

/** Result of parsing one spec file. */
export interface ParsedFile {
  specs: DesiredContainer[];
  errors: SpecError[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** The container name a file's basename gives (`web.yaml` -> `web`). */
export function nameFromFile(file: string): string {
  return basename(file, extname(file));
}

/** Only these names are spec files: `*.yaml` / `*.yml`, not hidden, not editor backups. */
export function isSpecFileName(name: string): boolean {
  return /\.(ya?ml)$/.test(name) && !name.startsWith('.') && !name.endsWith('~');
}

/**
 * Parses one spec file's text. `path` is how errors name the file; `source` records ownership.
 * Every problem is returned as an error with line and column; nothing throws.
 */
export function parseSpecFile(text: string, path: string, source: Omit<SpecSource, 'doc'>): ParsedFile {
  const errors: SpecError[] = [];
  const specs: DesiredContainer[] = [];
  const at1 = (message: string): SpecError => ({ file: path, line: 1, col: 1, message });
  if (Buffer.byteLength(text) > MAX_SPEC_FILE_BYTES) return { specs, errors: [at1(`file is larger than ${MAX_SPEC_FILE_BYTES} bytes`)] };

  const lc = new (yaml().LineCounter)();
  let docs: Document[];
  try {
    docs = yaml().parseAllDocuments(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, strict: true }) as Document[];
  } catch (e) {
    return { specs, errors: [at1(`cannot parse YAML: ${(e as Error).message}`)] };
  }
  if (!Array.isArray(docs)) docs = [docs];
  if (docs.length > MAX_DOCUMENTS) return { specs, errors: [at1(`more than ${MAX_DOCUMENTS} documents in one file`)] };
  const isEmpty = (d: Document): boolean => d.contents === null || (yaml().isScalar(d.contents) && d.contents.value === null);
  const nonEmpty = docs.map((d, i) => ({ d, i })).filter(({ d }) => !isEmpty(d) || d.errors.length > 0);
  const multi = nonEmpty.length > 1;

  /** Where a spec's field is written: in its own document, or where the Kubernetes objects it was read from say it. */
  type Where = (p: Array<string | number>) => { doc: Document; path: Array<string | number>; field?: string };
  const place = (where: Where, e: PathError & { at?: 'key' | 'value' }): SpecError => {
    const w = where(e.path);
    return locate(w.doc, lc, path, w.field === undefined ? e : { path: w.path, message: `${w.field}: ${e.message}` });
  };
  const valid = (value: unknown, where: Where): value is RawSpec => {
    const validate = schemaValidator();
    if (validate(value)) return true;
    const located: LocatedPathError[] = translateSchemaErrors(validate.errors ?? [], value);
    for (const e of located) errors.push(place(where, e));
    return false;
  };
  const admit = (raw: RawSpec, name: string, i: number, where: Where): void => {
    const result = normalizeSpec(raw, name);
    if ('errors' in result) {
      for (const e of result.errors) errors.push(place(where, e));
      return;
    }
    const refPath = typeof raw.image === 'string' ? ['image'] : raw.image.ref !== undefined ? ['image', 'ref'] : null;
    const refAt = refPath ? place(where, { path: refPath, message: '' }) : null;
    specs.push(
      withSpecHash({
        spec: result.spec,
        user: result.user,
        source: { ...source, doc: i },
        ...(refAt && { imageRefAt: { line: refAt.line, col: refAt.col } }),
      }),
    );
  };
  const kube: KubeDocument[] = [];

  for (const { d: doc, i } of nonEmpty) {
    if (doc.errors.length) {
      for (const e of doc.errors) {
        const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        errors.push({
          file: path,
          line: pos.line,
          col: pos.col,
          message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, ''),
        });
      }
      continue;
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIASES });
    } catch (e) {
      errors.push(locate(doc, lc, path, { path: [], message: `cannot read document: ${(e as Error).message}` }));
      continue;
    }
    if (isKubeDocument(value)) {
      kube.push({ doc, index: i, value });
      continue;
    }
    const own: Where = (p) => ({ doc, path: p });
    if (!valid(value, own)) continue;
    const raw = value;
    let name = raw.name;
    if (name === undefined) {
      if (multi) {
        errors.push(locate(doc, lc, path, { path: [], message: 'this file holds several documents: each needs a "name"' }));
        continue;
      }
      name = nameFromFile(source.file);
      if (!DNS_LABEL.test(name)) {
        errors.push(
          at1(
            `the file name gives the container name "${name}", which is not a DNS label (lowercase letters, digits, "-"): add a "name" key`,
          ),
        );
        continue;
      }
    }
    admit(raw, name, i, own);
  }
  if (kube.length) {
    const imported = importKubeDocuments(kube);
    for (const p of imported.problems) errors.push(locate(p.doc, lc, path, p));
    for (const s of imported.specs) {
      const where: Where = (p) => ({ ...s.origin(p), field: s.describe(p) });
      if (valid(s.value, where)) admit(s.value, s.name, s.index, where);
    }
  }

  specs.sort((a, b) => a.source.doc - b.source.doc);
  const byName = new Map<string, DesiredContainer>();
  for (const s of specs) {
    const prev = byName.get(s.spec.name);
    if (prev) {
      const doc = docs[s.source.doc]!;
      errors.push(
        locate(doc, lc, path, {
          path: ['name'],
          at: 'value',
          message: `name "${s.spec.name}" is already used by document ${prev.source.doc + 1} of this file`,
        } as PathError),
      );
    }
    byName.set(s.spec.name, s);
  }
  return { specs: errors.length ? [] : specs, errors };
}
