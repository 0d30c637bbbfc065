/**
 * Compose's variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty),
 * `${VAR-default}` (unset), `${VAR:?message}` / `${VAR?message}` (an error), `${VAR:+alt}` /
 * `${VAR+alt}` (alt when set), defaults themselves interpolated, `$$` for a literal `$`. An unset
 * variable without a default is a blank string (compose warns). Any other `$` is an error.
 */
import { isMap } from './values.js';

/** The value of a variable, undefined when unset. */
export type Lookup = (name: string) => string | undefined;

/** A template that cannot be substituted: a required variable unset, or a `$` that starts nothing. */
export class TemplateError extends Error {
  override name = 'TemplateError';
}

const NAME = /^[_a-zA-Z][_a-zA-Z0-9]*/;

/** The index of the `}` closing the `${` that starts at `start`, or -1. */
function closingBrace(s: string, start: number): number {
  let depth = 0;
  for (let i = start; i < s.length; i++) {
    if (s.startsWith('${', i)) {
      depth++;
      i++;
    } else if (s[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function braced(inner: string, template: string, lookup: Lookup, onUnset: (name: string) => void): string {
  const name = NAME.exec(inner)?.[0];
  if (!name) throw new TemplateError(`invalid interpolation format in ${JSON.stringify(template)}: "\${${inner}}"`);
  const rest = inner.slice(name.length);
  const value = lookup(name);
  const op = /^(:?[-?+])/.exec(rest)?.[1];
  if (rest === '') {
    if (value === undefined) onUnset(name);
    return value ?? '';
  }
  if (op === undefined) throw new TemplateError(`invalid interpolation format in ${JSON.stringify(template)}: "\${${inner}}"`);
  const arg = rest.slice(op.length);
  const emptyCounts = op.startsWith(':');
  const missing = value === undefined || (emptyCounts && value === '');
  switch (op.slice(-1)) {
    case '-':
      return missing ? substitute(arg, lookup, onUnset) : value!;
    case '+':
      return missing ? '' : substitute(arg, lookup, onUnset);
    default:
      if (missing) throw new TemplateError(`required variable ${name} is missing a value: ${substitute(arg, lookup, onUnset)}`);
      return value!;
  }
}

/** Substitutes the variables of one string; `onUnset` hears of each variable used without a value or default. */
export function substitute(template: string, lookup: Lookup, onUnset: (name: string) => void = () => {}): string {
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if (c !== '$') {
      out += c;
      continue;
    }
    const next = template[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '{') {
      const end = closingBrace(template, i);
      if (end < 0) throw new TemplateError(`invalid interpolation format in ${JSON.stringify(template)}: "\${" is never closed`);
      out += braced(template.slice(i + 2, end), template, lookup, onUnset);
      i = end;
    } else {
      const name = NAME.exec(template.slice(i + 1))?.[0];
      if (!name)
        throw new TemplateError(
          `invalid interpolation format in ${JSON.stringify(template)}: a "$" starts no variable (write "$$" for a "$")`,
        );
      const value = lookup(name);
      if (value === undefined) onUnset(name);
      out += value ?? '';
      i += name.length;
    }
  }
  return out;
}

/** A template error at a path of the document. */
export class PathTemplateError extends TemplateError {
  constructor(
    readonly path: Array<string | number>,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Interpolates every string value of a tree (keys are left as written). `skip(path, key)` leaves
 * a key's whole value as it is (extension fields). Throws a PathTemplateError.
 */
export function interpolateTree(
  value: unknown,
  lookup: Lookup,
  onUnset: (name: string, path: Array<string | number>) => void,
  skip: (path: ReadonlyArray<string | number>, key: string) => boolean,
  path: Array<string | number> = [],
): unknown {
  if (typeof value === 'string') {
    try {
      return substitute(value, lookup, (name) => onUnset(name, path));
    } catch (e) {
      throw new PathTemplateError(path, (e as Error).message);
    }
  }
  if (Array.isArray(value)) return value.map((v, i) => interpolateTree(v, lookup, onUnset, skip, [...path, i]));
  if (isMap(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = skip(path, k) ? v : interpolateTree(v, lookup, onUnset, skip, [...path, k]);
    return out;
  }
  return value;
}
