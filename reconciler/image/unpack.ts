import { once } from 'node:events';
import {
  chmodSync,
  closeSync,
  constants,
  createReadStream,
  fchmodSync,
  fchownSync,
  futimesSync,
  lchownSync,
  linkSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readFileSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  utimesSync,
  writeSync,
  type Stats,
} from 'node:fs';
import { join } from 'node:path';
import type { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import type { ReadEntry } from 'tar';
import { native } from '../native.js';
import { DigestStream, parseDigest } from './digest.js';
import { planEntry, type EntryMeta, type PlannedEntry } from './entry.js';
import { ImageError } from './errors.js';
import type { Compression } from './layout.js';
import { makeOpaque, makeWhiteout } from './whiteout.js';

/** Which layer of which image is being unpacked (for error messages). */
export interface LayerLabel {
  image: string;
  /** The layer's digest (diff_id). */
  layer: string;
}

/** What unpacking one layer wrote. */
export interface UnpackStats {
  entries: number;
  /** Bytes of regular file content. */
  fileBytes: number;
}

/** An entry refused while unpacking (turned into an ImageError naming image, layer and entry). */
class Refusal extends Error {}

function lstatOrNull(path: string): Stats | null {
  return lstatSync(path, { throwIfNoEntry: false }) ?? null;
}

/** What this layer put at a path of its tree. */
type Kind = 'dir' | 'file' | 'symlink' | 'other';

let umaskBits: number | null = null;

/** This process's umask, read once from /proc (process.umask() without an argument is deprecated). */
function umask(): number {
  if (umaskBits === null) {
    const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    umaskBits = m ? parseInt(m[1]!, 8) : 0o777;
  }
  return umaskBits;
}

/** Whether new files are owned by 0:0 without a chown (this process runs as root). */
const ROOT_OWNS_NEW_FILES = process.geteuid?.() === 0 && process.getegid?.() === 0;

function writeAll(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}

/**
 * Writes one layer's entries into a fresh, empty directory tree that nothing else writes to, so
 * what is at each path is known from the entries already written: every path is checked component
 * by component against them, nothing is ever created through a symlink or outside the root, and
 * a hard link can only point at a file this layer already holds. Every create is exclusive
 * (O_EXCL, mkdir, symlink, link), so a path that is not what the writer believes fails instead of
 * being followed. Directory metadata is applied last, deepest first, so a read-only directory does
 * not block its own entries.
 */
class TreeWriter {
  /** What this layer wrote at each relative path ('' is the root). */
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);
  private readonly dirMeta = new Map<string, EntryMeta>();
  readonly stats: UnpackStats = { entries: 0, fileBytes: 0 };

  constructor(readonly root: string) {}

  private abs(rel: string): string {
    return rel === '' ? this.root : join(this.root, rel);
  }

  /** Makes every parent of rel a real directory of this tree, creating missing ones (0755, root). */
  private parents(rel: string): void {
    const parts = rel.split('/');
    parts.pop();
    let cur = '';
    for (const p of parts) {
      cur = cur ? `${cur}/${p}` : p;
      const kind = this.kinds.get(cur);
      if (kind === 'dir') continue;
      if (kind === 'symlink')
        throw new Refusal(`its parent ${cur} is a symbolic link of this layer: writing through it could leave the layer`);
      if (kind) throw new Refusal(`its parent ${cur} is not a directory`);
      mkdirSync(this.abs(cur), 0o755);
      if (umask() & 0o755) chmodSync(this.abs(cur), 0o755);
      this.kinds.set(cur, 'dir');
    }
  }

  /** Forgets rel and everything below it (it was replaced). */
  private forget(rel: string): void {
    for (const d of [...this.kinds.keys()]) if (d === rel || d.startsWith(`${rel}/`)) this.kinds.delete(d);
    for (const d of [...this.dirMeta.keys()]) if (d === rel || d.startsWith(`${rel}/`)) this.dirMeta.delete(d);
  }

  /** Removes what is at rel unless it is a directory and keepDir; returns whether a directory was kept. */
  private clear(rel: string, keepDir: boolean): boolean {
    const kind = this.kinds.get(rel);
    if (!kind) return false;
    if (kind === 'dir' && keepDir) return true;
    if (kind === 'dir') rmSync(this.abs(rel), { recursive: true });
    else unlinkSync(this.abs(rel));
    this.forget(rel);
    return false;
  }

  /** Whether target is something a hard link may point at: already in this layer, reached without symlinks, not a directory. */
  private checkLinkTarget(target: string): void {
    const parts = target.split('/');
    let cur = '';
    for (const p of parts.slice(0, -1)) {
      cur = cur ? `${cur}/${p}` : p;
      const kind = this.kinds.get(cur);
      if (kind === 'dir') continue;
      if (!kind) throw new Refusal(`hard link target ${target} is not in this layer`);
      throw new Refusal(
        `hard link target ${target} goes through ${cur}, which is ${kind === 'symlink' ? 'a symbolic link' : 'not a directory'}`,
      );
    }
    const kind = this.kinds.get(target);
    if (!kind) throw new Refusal(`hard link target ${target} is not in this layer`);
    if (kind === 'dir') throw new Refusal(`hard link target ${target} is a directory`);
    const st = lstatOrNull(this.abs(target));
    if (!st) throw new Refusal(`hard link target ${target} is not in this layer`);
    if (st.isCharacterDevice() || st.isBlockDevice()) throw new Refusal(`hard link target ${target} is a whiteout`);
  }

  private static setTimes(path: string, meta: EntryMeta, link = false): void {
    if (!meta.mtime) return;
    (link ? lutimesSync : utimesSync)(path, meta.mtime, meta.mtime);
  }

  /** Applies one entry; a file's content arrives through `entry` and is written as it comes. */
  apply(p: PlannedEntry, entry: ReadEntry, fail: (e: unknown) => void): void {
    this.stats.entries++;
    switch (p.kind) {
      case 'ignore':
        return;
      case 'dir': {
        if (p.path !== '') {
          this.parents(p.path);
          if (!this.clear(p.path, true)) mkdirSync(this.abs(p.path), 0o700);
          this.kinds.set(p.path, 'dir');
        }
        this.dirMeta.set(p.path, p.meta);
        return;
      }
      case 'file': {
        this.parents(p.path);
        this.clear(p.path, false);
        const abs = this.abs(p.path);
        const perm = p.meta.mode & 0o777;
        const fd = openSync(abs, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, perm);
        this.kinds.set(p.path, 'file');
        const chown = !(ROOT_OWNS_NEW_FILES && p.meta.uid === 0 && p.meta.gid === 0);
        const chmod = p.meta.mode !== perm || (perm & umask()) !== 0;
        let open = true;
        const close = (): void => {
          if (open) closeSync(fd);
          open = false;
        };
        entry.on('data', (chunk: Buffer) => {
          if (!open) return;
          try {
            writeAll(fd, chunk);
            this.stats.fileBytes += chunk.length;
          } catch (e) {
            close();
            fail(e);
          }
        });
        entry.on('end', () => {
          if (!open) return;
          try {
            if (chown) fchownSync(fd, p.meta.uid, p.meta.gid);
            if (chmod) fchmodSync(fd, p.meta.mode);
            if (p.meta.mtime) futimesSync(fd, p.meta.mtime, p.meta.mtime);
            close();
          } catch (e) {
            close();
            fail(e);
          }
        });
        return;
      }
      case 'symlink': {
        this.parents(p.path);
        this.clear(p.path, false);
        const abs = this.abs(p.path);
        symlinkSync(p.target, abs);
        this.kinds.set(p.path, 'symlink');
        lchownSync(abs, p.meta.uid, p.meta.gid);
        TreeWriter.setTimes(abs, p.meta, true);
        return;
      }
      case 'hardlink': {
        this.parents(p.path);
        this.checkLinkTarget(p.target);
        this.clear(p.path, false);
        linkSync(this.abs(p.target), this.abs(p.path));
        this.kinds.set(p.path, 'file');
        return;
      }
      case 'fifo': {
        this.parents(p.path);
        this.clear(p.path, false);
        const abs = this.abs(p.path);
        native().mknod(abs, constants.S_IFIFO | 0o600, 0, 0);
        this.kinds.set(p.path, 'other');
        lchownSync(abs, p.meta.uid, p.meta.gid);
        chmodSync(abs, p.meta.mode);
        TreeWriter.setTimes(abs, p.meta);
        return;
      }
      case 'whiteout': {
        this.parents(p.path);
        if (this.kinds.has(p.path)) return;
        makeWhiteout(this.abs(p.path));
        this.kinds.set(p.path, 'other');
        return;
      }
      case 'opaque': {
        this.parents(`${p.dir}/x`);
        makeOpaque(this.abs(p.dir));
        return;
      }
    }
  }

  /** Applies directory owners, modes and times, deepest first. */
  finish(): void {
    const dirs = [...this.dirMeta].sort(([a], [b]) => b.split('/').length - a.split('/').length || (a < b ? 1 : -1));
    for (const [rel, meta] of dirs) {
      const abs = this.abs(rel);
      const st = lstatOrNull(abs);
      if (!st?.isDirectory()) continue;
      lchownSync(abs, meta.uid, meta.gid);
      chmodSync(abs, meta.mode);
      TreeWriter.setTimes(abs, meta);
    }
  }
}

function entryError(where: LayerLabel, entry: string, e: unknown): ImageError {
  if (e instanceof ImageError) return e;
  const at = `image ${where.image}: layer ${where.layer}: entry ${JSON.stringify(entry)}`;
  if (e instanceof Refusal)
    return new ImageError('IMAGE_ENTRY', `${at}: refused: ${e.message}`, { image: where.image, digest: where.layer, entry });
  const err = e as NodeJS.ErrnoException;
  return new ImageError('IMAGE_STORE', `${at}: ${err.message ?? String(e)}`, {
    image: where.image,
    digest: where.layer,
    entry,
    ...(err.path && { path: err.path }),
    cause: e,
  });
}

/**
 * Unpacks an uncompressed tar stream (the end of `sources`, a pipeline) into root, an existing
 * empty directory. Any refused entry or failure rejects with an error naming the image, layer and
 * entry; what was written under root is then the caller's to discard.
 */
export async function unpackTar(sources: Array<Readable | Transform>, root: string, where: LayerLabel): Promise<UnpackStats> {
  const w = new TreeWriter(root);
  const { Parser } = await import('tar');
  const parser = new Parser({ strict: true, brotli: false, zstd: false });
  let failure: ImageError | null = null;
  let current = '';
  const fail = (e: unknown): void => {
    if (failure) return;
    failure = e instanceof ImageError ? e : entryError(where, current, e);
    parser.abort(failure);
  };
  const ended = new Promise<void>((resolve, reject) => {
    parser.on('error', (e: Error) => {
      if (!failure)
        failure = new ImageError(
          'IMAGE_LAYOUT',
          `image ${where.image}: layer ${where.layer}: not a valid tar stream${current ? ` (after entry ${JSON.stringify(current)})` : ''}: ${e.message}`,
          { image: where.image, digest: where.layer, cause: e },
        );
      reject(failure);
    });
    parser.on('end', () => resolve());
  });
  ended.catch(() => {});
  parser.on('entry', (entry: ReadEntry) => {
    current = entry.path;
    if (failure) {
      entry.resume();
      return;
    }
    const planned = planEntry(entry);
    try {
      if ('refused' in planned) throw new Refusal(planned.refused);
      w.apply(planned, entry, fail);
      if (planned.kind !== 'file') entry.resume();
    } catch (e) {
      fail(entryError(where, entry.path, e));
      entry.resume();
    }
  });
  const run = pipeline as unknown as (...streams: unknown[]) => Promise<void>;
  await run(...sources, async (src: AsyncIterable<Buffer>) => {
    for await (const chunk of src) {
      if (failure) throw failure;
      if (!parser.write(chunk)) await Promise.race([once(parser, 'drain'), ended]);
    }
    parser.end();
  }).catch((e: unknown) => {
    throw failure ?? e;
  });
  await ended.catch(() => {});
  if (failure) throw failure;
  try {
    w.finish();
  } catch (e) {
    throw entryError(where, '(directory metadata)', e);
  }
  return w.stats;
}

/** A zstd decompressor when this Node's zlib has one (Node 22.15+), else null. */
export function zstdDecompressor(): Transform | null {
  const z = zlib as unknown as { createZstdDecompress?: () => Transform };
  return typeof z.createZstdDecompress === 'function' ? z.createZstdDecompress() : null;
}

/** Whether this Node can unpack layers of a compression. */
export function canDecompress(c: Compression): boolean {
  return c !== 'zstd' || typeof (zlib as unknown as { createZstdDecompress?: unknown }).createZstdDecompress === 'function';
}

/**
 * Unpacks a layer blob into root: decompresses it, checks the uncompressed stream against the
 * diff_id while writing the tree, and rejects when they differ. The blob is a file already verified
 * against its descriptor (an import), or a stream that verifies itself and errors at its end when
 * its digest does not match (a pull): then the tree written so far is the caller's to discard.
 * Returns what was written and the uncompressed size.
 */
export async function unpackLayer(
  blob: string | Readable,
  compression: Compression,
  diffId: string,
  root: string,
  image: string,
): Promise<UnpackStats & { tarBytes: number }> {
  const where: LayerLabel = { image, layer: diffId };
  const decompress: Transform[] = [];
  if (compression === 'gzip') decompress.push(zlib.createGunzip({ chunkSize: 256 * 1024 }));
  if (compression === 'zstd') {
    const z = zstdDecompressor();
    if (!z)
      throw new ImageError(
        'IMAGE_UNSUPPORTED',
        `image ${image}: layer ${diffId} is zstd-compressed and this Node (${process.version}) has no zstd in zlib (Node 22.15 or later has)`,
        { image, digest: diffId },
      );
    decompress.push(z);
  }
  const diff = new DigestStream(parseDigest(diffId)!.algorithm);
  let stats: UnpackStats;
  try {
    stats = await unpackTar([typeof blob === 'string' ? createReadStream(blob) : blob, ...decompress, diff], root, where);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    const blobError = typeof blob !== 'string' ? (blob as Readable & { errored?: unknown }).errored : null;
    if (blobError instanceof ImageError) throw blobError;
    throw new ImageError(
      'IMAGE_LAYOUT',
      `image ${image}: layer ${diffId}: cannot read the ${compression === 'none' ? 'tar' : `${compression} stream`}: ${(e as Error).message}`,
      { image, digest: diffId, ...(typeof blob === 'string' && { path: blob }), cause: e },
    );
  }
  const got = diff.digest();
  if (got !== diffId) {
    throw new ImageError(
      'IMAGE_DIGEST',
      `image ${image}: layer ${diffId}: the uncompressed content has digest ${got}, not the config's diff_id`,
      { image, digest: diffId, ...(typeof blob === 'string' && { path: blob }) },
    );
  }
  return { ...stats, tarBytes: diff.bytes };
}
