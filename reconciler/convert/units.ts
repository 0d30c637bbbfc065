/** Compose's units (Go durations, Docker's byte sizes, octal modes) in the forms pocker's schema takes. */
import { MAX_DURATION_MS } from '../spec/duration.js';
import { scalarString } from './values.js';

const GO_UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, μs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const GO_PART = /([0-9]*(?:\.[0-9]*)?)(ns|us|\u00b5s|\u03bcs|ms|s|m|h)/gy;

/**
 * A compose duration (Go's time.ParseDuration: `1m30s`, `2.5s`, `500ms`, `100us`; `0`) in
 * milliseconds, sub-millisecond parts rounded up to a whole millisecond.
 */
export function parseComposeDuration(v: unknown): { ms: number } | { error: string } {
  const s = scalarString(v)?.trim();
  const bad = { error: `${JSON.stringify(v)} is not a duration (examples: 10s, 1m30s, 500ms)` };
  if (s === undefined || s === '') return bad;
  if (s === '0') return { ms: 0 };
  let ms = 0;
  GO_PART.lastIndex = 0;
  let at = 0;
  for (let m = GO_PART.exec(s); m; m = GO_PART.exec(s)) {
    if (m[1] === '' || m[1] === '.') return bad;
    ms += Number(m[1]) * GO_UNIT_MS[m[2]!]!;
    at = GO_PART.lastIndex;
  }
  if (at !== s.length) return bad;
  return { ms: ms > 0 && ms < 1 ? 1 : Math.round(ms) };
}

/** Milliseconds in the schema's duration form: `1m30s`, `250ms`, `1500ms`. */
export function pockerDuration(ms: number): string {
  if (ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}

/** A compose duration in the schema's form, or why it cannot be one (pocker takes at most 24h). */
export function convertDuration(v: unknown): { value: string; ms: number } | { error: string } {
  const r = parseComposeDuration(v);
  if ('error' in r) return r;
  if (r.ms > MAX_DURATION_MS) return { error: `${JSON.stringify(v)} is longer than pocker's 24h` };
  return { value: pockerDuration(r.ms), ms: r.ms };
}

const BINARY: Record<string, number> = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50 };

/**
 * A compose byte size in bytes: a number is bytes; a string is Docker's RAMInBytes form, where
 * every unit is binary (`512m` = 512 MiB, `1g`, `1024k`, `2.5GB`, `100b`).
 */
export function parseComposeBytes(v: unknown): { bytes: number } | { error: string } {
  if (typeof v === 'number') return Number.isSafeInteger(v) && v >= 0 ? { bytes: v } : { error: `${v} is not a whole number of bytes` };
  const m = typeof v === 'string' ? /^([0-9]+(?:\.[0-9]+)?) ?([kmgtp])?i?b?$/i.exec(v.trim()) : null;
  if (!m) return { error: `${JSON.stringify(v)} is not a size (examples: 512m, 1g, 1048576)` };
  return { bytes: Math.floor(Number(m[1]) * BINARY[(m[2] ?? '').toLowerCase()]!) };
}

/** Bytes in the schema's quantity form: the largest binary unit that divides them (`512Mi`), else the number of bytes. */
export function quantity(bytes: number): string | number {
  for (const [unit, size] of [
    ['Pi', 2 ** 50],
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const)
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  return bytes;
}

/**
 * A compose file mode as the schema writes it ("0440"): a number is the mode itself (YAML's
 * `0440` is octal, as compose reads it), a string is octal digits. Null when it is not a mode:
 * permission bits (at most 0777), with `sticky` also setuid, setgid and sticky bits (a tmpfs root).
 */
export function octalMode(v: unknown, sticky = false): string | null {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^0?[0-7]{1,4}$/.test(v.trim())) n = parseInt(v.trim(), 8);
  else return null;
  if (!Number.isInteger(n) || n < 0 || n > (sticky ? 0o7777 : 0o777)) return null;
  return `0${n.toString(8).padStart(3, '0')}`.replace(/^0(?=[0-7]{4}$)/, '');
}
