/** Shapes of parsed YAML values, and how compose turns scalars into strings. */

/** A YAML mapping as a plain object. */
export type YamlMap = Record<string, unknown>;

/** Whether a value is a mapping (not a list, not null). */
export function isMap(v: unknown): v is YamlMap {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Whether a key is an extension field (`x-...`), which compose and convert ignore. */
export function isExtension(key: string): boolean {
  return key.startsWith('x-');
}

/** A scalar as compose stringifies it (numbers and booleans as Go's fmt prints them); null for anything else. */
export function scalarString(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : null;
  if (typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  return null;
}

/** Words for a value in messages. */
export function describe(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v);
  return String(v);
}

/** The entries of a mapping without its extension fields. */
export function entries(m: YamlMap): Array<[string, unknown]> {
  return Object.entries(m).filter(([k]) => !isExtension(k));
}
