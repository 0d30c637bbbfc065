/**
 * Blob downloads as verified streams: bytes flow as they arrive, hashed on the way; the stream
 * ends only when all of the descriptor's bytes came and hash to its digest. A connection lost
 * mid-blob is resumed with a range request, continuing the same hash.
 */
import { builtins } from '../../builtins.js';
import { STATUS_CODES } from 'node:http';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseDigest } from '../digest.js';
import { ImageError, type ImageErrorCode } from '../errors.js';
import type { Descriptor } from '../layout.js';
import { describeNetworkError, isNetworkError } from './errors.js';
import { registryError, type Endpoint, type RegistrySession, type RequestContext } from './session.js';
import type { HttpResponse } from './transport.js';

/** What a blob download needs: the session, where to fetch (first choice first), the reference for messages. */
export interface BlobSource {
  session: RegistrySession;
  /** Tried in order while no byte was emitted; the first one for resuming. */
  endpoints: Endpoint[];
  image: string;
  repository: string;
}

/**
 * A Readable of the blob's verified bytes. Errors: IMAGE_DIGEST (wrong content, too many or too
 * few bytes), REGISTRY_UNREACHABLE (the connection failed `attempts` times in a row without
 * progress, or the registry answered a range request with the whole blob after bytes were emitted).
 */
export function verifiedBlob(source: BlobSource, desc: Descriptor, onProgress?: (bytes: number) => void): Readable {
  return new VerifiedBlobStream((stream) => pump(stream, source, desc, onProgress));
}

/**
 * A stream fed by a pump function through `deliver` (which waits while the reader is slow);
 * destroying the stream aborts the pump (its signal, its current body).
 */
class VerifiedBlobStream extends Readable {
  private readonly controller = new AbortController();
  private started = false;
  private wake: (() => void) | null = null;
  /** The body being read, destroyed with the stream. */
  current: Readable | null = null;

  constructor(private readonly pump: (stream: VerifiedBlobStream) => Promise<void>) {
    super();
  }

  /** Aborted when the stream is destroyed. */
  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Pushes a chunk; resolves when the reader wants more. */
  deliver(chunk: Buffer): Promise<void> {
    if (this.push(chunk) || this.destroyed) return Promise.resolve();
    return new Promise<void>((resolve) => (this.wake = resolve));
  }

  override _read(): void {
    if (!this.started) {
      this.started = true;
      this.pump(this).then(
        () => {
          if (!this.destroyed) this.push(null);
        },
        (e: unknown) => this.destroy(e as Error),
      );
      return;
    }
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.controller.abort();
    this.current?.destroy();
    const wake = this.wake;
    this.wake = null;
    wake?.();
    callback(error);
  }
}

async function pump(stream: VerifiedBlobStream, source: BlobSource, desc: Descriptor, onProgress?: (bytes: number) => void): Promise<void> {
  const { session, endpoints } = source;
  const base = { image: source.image, repository: source.repository };
  const what = `blob ${desc.digest}`;
  const algorithm = parseDigest(desc.digest)?.algorithm;
  if (!algorithm) throw registryError('REGISTRY_PROTOCOL', { ...base, endpoint: endpoints[0]! }, `${what} is not a digest`);
  const hash = builtins.crypto().createHash(algorithm);
  let got = 0;
  let endpointIndex = 0;
  let failures = 0;
  for (;;) {
    const ctx: RequestContext = { ...base, endpoint: endpoints[endpointIndex]! };
    let res: HttpResponse;
    try {
      res = await session.exchange(
        ctx,
        { path: `/v2/${ctx.repository}/blobs/${desc.digest}` },
        {
          auth: true,
          signal: stream.signal,
          ...(got > 0 && { headers: { range: `bytes=${got}-` }, context: `resuming after ${got} of ${desc.size} bytes` }),
        },
        async (r) => r,
      );
    } catch (e) {
      if (stream.destroyed) return;
      if (got === 0 && endpointIndex < endpoints.length - 1) {
        endpointIndex++;
        continue;
      }
      throw e;
    }
    if (stream.destroyed) {
      res.body.destroy();
      return;
    }
    checkAnswer(ctx, res, desc, got);
    stream.current = res.body;
    let progressed = false;
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        if (got + chunk.length > desc.size) {
          throw registryError('IMAGE_DIGEST', ctx, `${what}: the registry sent more than the descriptor's ${desc.size} bytes`, desc.digest);
        }
        hash.update(chunk);
        got += chunk.length;
        progressed = true;
        await stream.deliver(chunk);
        if (stream.destroyed) return;
        onProgress?.(got);
      }
    } catch (e) {
      res.body.destroy();
      if (stream.destroyed) return;
      if (e instanceof ImageError || !isNetworkError(e)) throw e;
      if (got < desc.size) {
        failures = progressed ? 1 : failures + 1;
        if (failures >= session.opts.attempts) {
          throw registryError(
            'REGISTRY_UNREACHABLE',
            ctx,
            `${what}: the connection failed after ${got} of ${desc.size} bytes, ${failures} times in a row (${describeNetworkError(e)})`,
            desc.digest,
            e,
          );
        }
        try {
          await sleep(session.backoff(failures), undefined, { signal: stream.signal });
        } catch {
          return;
        }
        continue;
      }
    } finally {
      stream.current = null;
    }
    if (got < desc.size) {
      throw registryError('IMAGE_DIGEST', ctx, `${what}: the registry sent ${got} bytes, the descriptor says ${desc.size}`, desc.digest);
    }
    const digest = `${algorithm}:${hash.digest('hex')}`;
    if (digest !== desc.digest) throw registryError('IMAGE_DIGEST', ctx, `${what}: its content has digest ${digest}`, desc.digest);
    return;
  }
}

/** Checks the status and headers of a blob answer for offset `from` (destroying its body when refused). */
function checkAnswer(ctx: RequestContext, res: HttpResponse, desc: Descriptor, from: number): void {
  const refuse = (code: ImageErrorCode, why: string): never => {
    res.body.destroy();
    throw registryError(code, ctx, `blob ${desc.digest}: ${why}`, desc.digest);
  };
  const length = res.headers['content-length'] !== undefined ? Number(res.headers['content-length']) : undefined;
  if (from === 0) {
    if (res.status !== 200) refuse('REGISTRY_PROTOCOL', `unexpected status ${res.status} ${STATUS_CODES[res.status] ?? ''}`.trim());
    if (length !== undefined && length !== desc.size)
      refuse('IMAGE_DIGEST', `the registry announces ${length} bytes, the descriptor says ${desc.size}`);
    return;
  }
  if (res.status === 200) {
    refuse(
      'REGISTRY_UNREACHABLE',
      `the connection failed after ${from} of ${desc.size} bytes and the registry does not resume (it answered 200 to a range request); the blob must be fetched again`,
    );
  }
  if (res.status !== 206) refuse('REGISTRY_PROTOCOL', `unexpected status ${res.status} to a range request`);
  const range = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((res.headers['content-range'] ?? '').trim());
  if (!range || Number(range[1]) !== from) {
    refuse(
      'REGISTRY_PROTOCOL',
      `asked for bytes ${from}-, the registry answered Content-Range ${JSON.stringify(res.headers['content-range'] ?? null)}`,
    );
  }
  if (range![3] !== '*' && Number(range![3]) !== desc.size)
    refuse('IMAGE_DIGEST', `the registry says the blob is ${range![3]} bytes, the descriptor says ${desc.size}`);
}
