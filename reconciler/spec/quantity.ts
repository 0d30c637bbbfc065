/** Byte quantities as in Kubernetes: `Ki Mi Gi Ti Pi` are powers of 2, `K M G T P` powers of 10, a bare number is bytes. */

const UNITS: Record<string, number> = {
  '': 1,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
};

const QUANTITY = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|K|M|G|T|P)?$/;

/** Largest byte count pocker accepts: exactly representable, and far above any real limit. */
export const MAX_BYTES = 2 ** 52;

/**
 * Parses a quantity into bytes (fractions round up to a whole byte).
 * Returns an error message instead of throwing.
 */
export function parseQuantity(value: string | number): { bytes: number } | { error: string } {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) return { error: `${value} is not a whole number of bytes` };
    if (value > MAX_BYTES) return { error: `${value} bytes is too large (at most 4Pi)` };
    return { bytes: value };
  }
  const m = QUANTITY.exec(value);
  if (!m) return { error: `"${value}" is not a quantity (examples: 512Mi, 1Gi, 100M, 1048576)` };
  const bytes = Math.ceil(Number(m[1]) * UNITS[m[2] ?? '']!);
  if (!Number.isFinite(bytes) || bytes > MAX_BYTES) return { error: `"${value}" is too large (at most 4Pi)` };
  return { bytes };
}

/** Formats bytes with the largest binary unit that divides them exactly (for messages and `ps`). */
export function formatBytes(bytes: number): string {
  for (const unit of ['Pi', 'Ti', 'Gi', 'Mi', 'Ki'] as const) {
    const size = UNITS[unit]!;
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)}Mi`;
  return String(bytes);
}

/** Bytes for people: B, KiB, MiB, GiB or TiB with one decimal (`40.0 MiB`). */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}
