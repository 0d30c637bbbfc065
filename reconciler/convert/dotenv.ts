/**
 * `.env` and env_file text as compose reads it (compose-go's dotenv parser): `KEY=VALUE` (or
 * `KEY: VALUE`) per line, an optional `export ` prefix, `#` comment lines, blank lines; an
 * unquoted value ends at the line's end or at ` #`, trailing blanks trimmed, and is interpolated;
 * a single-quoted value is literal; a double-quoted one may span lines, knows `\n \t \r \" \\ \$`
 * and is interpolated; a bare `KEY` takes its value from the lookup (or is left out).
 */
import { substitute, TemplateError, type Lookup } from './interpolate.js';

/** A line of an env file that cannot be read. */
export class DotenvError extends Error {
  override name = 'DotenvError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super(`line ${line}: ${message}`);
  }
}

const isBlank = (c: string): boolean =>
  c === ' ' || c === '\t' || c === '\v' || c === '\f' || c === '\r' || c === '\u0085' || c === '\u00a0';
const isSpace = (c: string): boolean => isBlank(c) || c === '\n';
const isKeyChar = (c: string): boolean => /[\p{L}\p{N}_.\-[\]]/u.test(c);

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', '\\': '\\', $: '$$' };

/** Go's escapes of a double-quoted value; `\$` stays a literal `$` through interpolation. */
function expandEscapes(s: string): string {
  return s.replace(/\\(?:[abcfnrtv$"\\]|0[0-7]{0,3})/g, (m) => {
    const c = m.slice(1);
    if (c.startsWith('0')) return /^0[0-7]{3}$/.test(c) ? String.fromCharCode(parseInt(c.slice(1), 8)) : m;
    return ESCAPES[c] ?? m;
  });
}

/**
 * Parses an env file. `lookup` gives variables for interpolation (before the file's own earlier
 * keys, as compose does) and the values of bare keys; `onUnset` hears of unset variables.
 */
export function parseDotenv(text: string, lookup: Lookup, onUnset: (name: string) => void = () => {}): Map<string, string> {
  const out = new Map<string, string>();
  const src = text.replace(/^\ufeff/, '');
  let i = 0;
  let line = 1;
  const expand = (v: string): string => {
    try {
      return substitute(v, (k) => lookup(k) ?? out.get(k), onUnset);
    } catch (e) {
      if (e instanceof TemplateError) throw new DotenvError(line, e.message);
      throw e;
    }
  };
  for (;;) {
    while (i < src.length && isSpace(src[i]!)) if (src[i++] === '\n') line++;
    if (i >= src.length) break;
    if (src[i] === '#') {
      while (i < src.length && src[i] !== '\n') i++;
      continue;
    }
    const exp = /^export[ \t]+/.exec(src.slice(i, i + 16));
    if (exp) i += exp[0].length;
    const start = i;
    let end = -1;
    let term = '';
    for (; i < src.length; i++) {
      const c = src[i]!;
      if (isBlank(c)) continue;
      if (c === '=' || c === ':' || c === '\n') {
        end = i;
        term = c;
        break;
      }
      if (!isKeyChar(c))
        throw new DotenvError(
          line,
          `unexpected character ${JSON.stringify(c)} in variable name ${JSON.stringify(src.slice(start).split('\n')[0])}`,
        );
    }
    const key = src.slice(start, end < 0 ? src.length : end).trimEnd();
    if (/\s/.test(key)) throw new DotenvError(line, `key ${JSON.stringify(key)} cannot contain a space`);
    if (end < 0 || term === '\n') {
      const v = lookup(key);
      if (v !== undefined) out.set(key, v);
      i = end < 0 ? src.length : end;
      continue;
    }
    i = end + 1;
    while (i < src.length && isBlank(src[i]!)) i++;
    const quote = src[i];
    if (quote === '"' || quote === "'") {
      const keyLine = line;
      let value = '';
      let escaped = false;
      let closed = false;
      for (i++; i < src.length; i++) {
        const c = src[i]!;
        if (c === '\n') line++;
        if (escaped) {
          escaped = false;
          value += c === quote ? c : `\\${c}`;
        } else if (c === '\\') escaped = true;
        else if (c === quote) {
          closed = true;
          i++;
          break;
        } else value += c;
      }
      if (!closed) throw new DotenvError(keyLine, `unterminated quoted value of ${key}`);
      out.set(key, quote === '"' ? expand(expandEscapes(value)) : value);
      continue;
    }
    const nl = src.indexOf('\n', i);
    let raw = src.slice(i, nl < 0 ? src.length : nl);
    i = nl < 0 ? src.length : nl;
    const hash = raw.indexOf(' #');
    if (hash >= 0) raw = raw.slice(0, hash);
    out.set(key, expand(raw.replace(/\s+$/, '')));
  }
  return out;
}
