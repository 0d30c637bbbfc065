/**
 * Kubernetes quantities (`resource.Quantity`): `500m`, `0.5`, `64Mi`, `1G`, `1e6`, `128974848`;
 * binary suffixes Ki..Ei, decimal m, k, M..E, or a decimal exponent. pocker's own quantities
 * differ (`K`, no `m`, no exponents): what crosses between them goes through bytes and CPUs.
 */

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:(Ki|Mi|Gi|Ti|Pi|Ei)|(m|k|M|G|T|P|E)|[eE]([+-]?[0-9]+))?$/;

const BINARY: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Record<string, number> = { m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** The value of a Kubernetes quantity (a YAML number or a string), or why it is none. */
export function parseKubeQuantity(v: unknown): { value: number } | { error: string } {
  if (typeof v === 'number') return Number.isFinite(v) ? { value: v } : { error: `${v} is not a quantity` };
  if (typeof v !== 'string') return { error: 'a quantity is a number or a string (examples: 500m, 64Mi, 1G)' };
  const m = QUANTITY.exec(v.trim());
  if (!m) return { error: `${JSON.stringify(v)} is not a Kubernetes quantity (examples: 500m, 0.5, 64Mi, 1G)` };
  const scale = m[3] ? BINARY[m[3]]! : m[4] ? DECIMAL[m[4]]! : m[5] ? 10 ** Number(m[5]) : 1;
  const value = Number(m[2]) * scale * (m[1] === '-' ? -1 : 1);
  return Number.isFinite(value) ? { value } : { error: `${JSON.stringify(v)} is too large` };
}

/** A quantity of bytes (rounded up to a whole byte, as Kubernetes does), or why it is none. */
export function kubeBytes(v: unknown): { bytes: number } | { error: string } {
  const r = parseKubeQuantity(v);
  if ('error' in r) return r;
  if (r.value < 0) return { error: `${JSON.stringify(v)} is negative` };
  const bytes = Math.ceil(Math.round(r.value * 1e3) / 1e3);
  return Number.isSafeInteger(bytes) ? { bytes } : { error: `${JSON.stringify(v)} is too large` };
}

/** A quantity of CPUs (rounded up to a thousandth, as Kubernetes' millicores), or why it is none. */
export function kubeCpus(v: unknown): { cpus: number } | { error: string } {
  const r = parseKubeQuantity(v);
  if ('error' in r) return r;
  if (r.value < 0) return { error: `${JSON.stringify(v)} is negative` };
  return { cpus: Math.ceil(Math.round(r.value * 1e6) / 1e3) / 1e3 };
}

/** Bytes with the largest binary suffix that divides them exactly (`64Mi`), else the bare number: valid for Kubernetes and for pocker. */
export function formatExactBytes(bytes: number): string {
  for (const [unit, size] of [
    ['Pi', 2 ** 50],
    ['Ti', 2 ** 40],
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return String(bytes);
}

/** CPUs as Kubernetes writes them: whole CPUs as a number (`2`), else millicores (`500m`). */
export function formatKubeCpu(cpus: number): string {
  const milli = Math.round(cpus * 1000);
  return milli % 1000 === 0 ? String(milli / 1000) : `${milli}m`;
}

/** Milliseconds as a pocker duration that parses back to exactly them (`10s`, `1500ms`). */
export function formatExactDuration(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`;
}
