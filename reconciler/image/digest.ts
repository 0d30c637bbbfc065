import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';

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

/** The digest of bytes in memory. */
export function digestOf(data: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  private readonly hash: Hash;
  /** Bytes seen so far. */
  bytes = 0;

  constructor(readonly algorithm: DigestAlgorithm) {
    super();
    this.hash = createHash(algorithm);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.hash.update(chunk);
    this.bytes += chunk.length;
    cb(null, chunk);
  }

  /** The digest of everything seen (call once, after the stream ended). */
  digest(): string {
    return `${this.algorithm}:${this.hash.digest('hex')}`;
  }
}

/** Hashes a file as a stream: its digest with the given algorithm and its size. */
export async function digestFile(path: string, algorithm: DigestAlgorithm): Promise<{ digest: string; size: number }> {
  const d = new DigestStream(algorithm);
  d.resume();
  await pipeline(createReadStream(path), d);
  return { digest: d.digest(), size: d.bytes };
}
