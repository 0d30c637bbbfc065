import type { Hash } from 'node:crypto';
import { builtins } from '../builtins.js';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { DigestAlgorithm } from '../spec/digest.js';

export { formatDigest, parseDigest, shortDigest, type Digest, type DigestAlgorithm } from '../spec/digest.js';

/** The digest of bytes in memory. */
export function digestOf(data: Buffer, algorithm: DigestAlgorithm = 'sha256'): string {
  return `${algorithm}:${builtins.crypto().createHash(algorithm).update(data).digest('hex')}`;
}

/** A pass-through stream that hashes and counts what flows through it. */
export class DigestStream extends Transform {
  private readonly hash: Hash;
  /** Bytes seen so far. */
  bytes = 0;

  constructor(readonly algorithm: DigestAlgorithm) {
    super();
    this.hash = builtins.crypto().createHash(algorithm);
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
