import { once } from 'node:events';
import { closeSync, constants, createReadStream, mkdirSync, openSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Parser, type ReadEntry } from 'tar';
import { normalizeEntryPath } from './entry.js';
import { ImageError } from './errors.js';

/** The files of an OCI layout that an archive may carry; anything else in it is skipped. */
const LAYOUT_FILE = /^(oci-layout|index\.json|blobs\/(sha256|sha512)\/[0-9a-f]+)$/;

/**
 * Extracts the OCI layout held in a tar archive (`oci-archive:`, `docker save`; gzip-compressed or
 * not) into dest, an empty directory: only `oci-layout`, `index.json` and `blobs/<alg>/<hex>`, as
 * regular files. Other entries are skipped; a layout path that is not a regular file is refused.
 */
export async function extractLayoutArchive(archive: string, dest: string, image: string): Promise<void> {
  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  let failure: Error | null = null;
  const fail = (e: Error): void => {
    if (failure) return;
    failure = e;
    parser.abort(e);
  };
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('error', (e: Error) => {
      if (!failure)
        failure = new ImageError('IMAGE_LAYOUT', `image ${image}: ${archive} is not a valid tar archive: ${e.message}`, {
          image,
          path: archive,
          cause: e,
        });
      reject(failure);
    });
    parser.on('end', () => resolve());
  });
  ended.catch(() => {});
  parser.on('entry', (entry: ReadEntry) => {
    const n = normalizeEntryPath(entry.path);
    const path = 'path' in n ? n.path : '';
    if (failure || !LAYOUT_FILE.test(path)) {
      entry.resume();
      return;
    }
    if (entry.type !== 'File' && entry.type !== 'OldFile' && entry.type !== 'ContiguousFile') {
      fail(
        new ImageError(
          'IMAGE_LAYOUT',
          `image ${image}: ${archive}: entry ${JSON.stringify(entry.path)} is a ${entry.type}, not a regular file`,
          { image, path: archive, entry: entry.path },
        ),
      );
      entry.resume();
      return;
    }
    let fd: number;
    try {
      const abs = join(dest, path);
      mkdirSync(dirname(abs), { recursive: true, mode: 0o700 });
      rmSync(abs, { force: true });
      fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
    } catch (e) {
      fail(
        new ImageError('IMAGE_STORE', `image ${image}: ${archive}: entry ${JSON.stringify(entry.path)}: ${(e as Error).message}`, {
          image,
          entry: entry.path,
          cause: e,
        }),
      );
      entry.resume();
      return;
    }
    let open = true;
    entry.on('data', (chunk: Buffer) => {
      if (!open) return;
      try {
        for (let off = 0; off < chunk.length;) off += writeSync(fd, chunk, off);
      } catch (e) {
        open = false;
        closeSync(fd);
        fail(
          new ImageError('IMAGE_STORE', `image ${image}: ${archive}: entry ${JSON.stringify(entry.path)}: ${(e as Error).message}`, {
            image,
            entry: entry.path,
            cause: e,
          }),
        );
      }
    });
    entry.on('end', () => {
      if (open) closeSync(fd);
      open = false;
    });
  });
  const run = pipeline as unknown as (...streams: unknown[]) => Promise<void>;
  await run(createReadStream(archive), async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) {
      if (failure) throw failure;
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), ended]);
    }
    parser.end();
  }).catch((e: unknown) => {
    throw (
      failure ??
      new ImageError('IMAGE_LAYOUT', `image ${image}: cannot read ${archive}: ${(e as Error).message}`, { image, path: archive, cause: e })
    );
  });
  await ended.catch(() => {});
  if (failure) throw failure;
}
