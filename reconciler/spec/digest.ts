/** Digest algorithms the store accepts (the OCI spec's registered ones). */
export type DigestAlgorithm = 'sha256' | 'sha512';

/** A parsed OCI digest `algorithm:hex`. */
export interface Digest {
  algorithm: DigestAlgorithm;
  hex: string;
}

const ENCODED_LENGTH: Record<DigestAlgorithm, number> = { sha256: 64, sha512: 128 };

/** Parses `sha256:<64 hex>` or `sha512:<128 hex>` (lowercase, as the spec requires); null otherwise. */
export function parseDigest(s: unknown): Digest | null {
  if (typeof s !== 'string') return null;
  const m = /^(sha256|sha512):([0-9a-f]+)$/.exec(s);
  if (!m) return null;
  const algorithm = m[1] as DigestAlgorithm;
  return m[2]!.length === ENCODED_LENGTH[algorithm] ? { algorithm, hex: m[2]! } : null;
}

/** `algorithm:hex`. */
export function formatDigest(d: Digest): string {
  return `${d.algorithm}:${d.hex}`;
}

/** The first 12 hex digits of a digest (as `docker images` shows them). */
export function shortDigest(s: string): string {
  const d = parseDigest(s);
  return d ? d.hex.slice(0, 12) : s;
}
