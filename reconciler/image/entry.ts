import { whiteoutOf } from './whiteout.js';

/** The fields of a tar entry that decide what it becomes (node-tar's header names). */
export interface TarEntryHeader {
  path: string;
  type: string;
  linkpath?: string | undefined;
  mode?: number | undefined;
  uid?: number | undefined;
  gid?: number | undefined;
  mtime?: Date | undefined;
}

/** Metadata applied to what an entry creates. */
export interface EntryMeta {
  /** Permission bits with setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  mtime: Date | null;
}

/** What one tar entry of a layer becomes in the unpacked tree. Paths are relative to the layer root, `''` being the root. */
export type PlannedEntry =
  | { kind: 'file'; path: string; meta: EntryMeta }
  | { kind: 'dir'; path: string; meta: EntryMeta }
  | { kind: 'symlink'; path: string; target: string; meta: EntryMeta }
  | { kind: 'hardlink'; path: string; target: string }
  | { kind: 'fifo'; path: string; meta: EntryMeta }
  | { kind: 'whiteout'; path: string }
  | { kind: 'opaque'; dir: string }
  | { kind: 'ignore'; path: string };

/** A refused entry and why. */
export interface RefusedEntry {
  refused: string;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const MAX_ID = 2 ** 32 - 2;

/**
 * Normalizes a path inside a layer: strips `./` and empty parts. Refuses absolute paths, `..`
 * parts and NUL bytes, so the result can only name something inside the layer's own tree.
 */
export function normalizeEntryPath(p: string): { path: string } | RefusedEntry {
  if (p.includes('\0')) return { refused: 'path contains a NUL byte' };
  if (p.startsWith('/')) return { refused: 'absolute path' };
  const parts = p.split('/').filter((s) => s !== '' && s !== '.');
  if (parts.includes('..')) return { refused: 'path contains ".."' };
  return { path: parts.join('/') };
}

function idOf(v: number | undefined, what: string): number | RefusedEntry {
  if (v === undefined) return 0;
  if (!Number.isSafeInteger(v) || v < 0 || v > MAX_ID) return { refused: `${what} ${v} is out of range` };
  return v;
}

function metaOf(h: TarEntryHeader): EntryMeta | RefusedEntry {
  const uid = idOf(h.uid, 'uid');
  if (typeof uid !== 'number') return uid;
  const gid = idOf(h.gid, 'gid');
  if (typeof gid !== 'number') return gid;
  const mtime = h.mtime instanceof Date && !Number.isNaN(h.mtime.getTime()) ? h.mtime : null;
  return { mode: (h.mode ?? 0o644) & 0o7777, uid, gid, mtime };
}

/**
 * Decides what a layer's tar entry becomes, or refuses it: path traversal (absolute paths, `..`),
 * hard links leaving the layer, device nodes (a layer never needs them: pocker makes /dev itself),
 * and entry types pocker does not unpack. OCI whiteouts become their overlayfs form. Checks that
 * need the tree (symlinks met on the way, link targets present) are made while unpacking.
 */
export function planEntry(h: TarEntryHeader): PlannedEntry | RefusedEntry {
  const n = normalizeEntryPath(h.path);
  if ('refused' in n) return n;
  const path = n.path;
  if (h.type === 'CharacterDevice' || h.type === 'BlockDevice') {
    return {
      refused: `${h.type === 'CharacterDevice' ? 'character' : 'block'} device node: image layers may not carry devices (pocker makes /dev itself)`,
    };
  }
  const wh = whiteoutOf(path);
  if (wh) {
    if (h.type === 'Directory') return { refused: 'a whiteout name (.wh.) on a directory' };
    if (wh.kind === 'invalid') return { refused: wh.reason };
    if (wh.kind === 'ignore') return { kind: 'ignore', path };
    if (wh.kind === 'opaque')
      return wh.dir === ''
        ? { refused: 'opaque marker at the layer root: overlayfs cannot hide the layers below a lower layer root' }
        : { kind: 'opaque', dir: wh.dir };
    return { kind: 'whiteout', path: wh.path };
  }
  if (path === '' && h.type !== 'Directory') return { refused: `a ${h.type} entry for the layer root` };
  if (h.type === 'Link') {
    if (h.linkpath === undefined || h.linkpath === '') return { refused: 'hard link without a target' };
    const t = normalizeEntryPath(h.linkpath);
    if ('refused' in t) return { refused: `hard link target ${JSON.stringify(h.linkpath)}: ${t.refused}` };
    if (t.path === '' || t.path === path) return { refused: `hard link to ${JSON.stringify(h.linkpath)}` };
    return { kind: 'hardlink', path, target: t.path };
  }
  const meta = metaOf(h);
  if ('refused' in meta) return meta;
  if (FILE_TYPES.has(h.type)) return { kind: 'file', path, meta };
  if (h.type === 'Directory') return { kind: 'dir', path, meta };
  if (h.type === 'SymbolicLink') {
    if (!h.linkpath) return { refused: 'symbolic link without a target' };
    if (h.linkpath.includes('\0')) return { refused: 'symbolic link target contains a NUL byte' };
    return { kind: 'symlink', path, target: h.linkpath, meta };
  }
  if (h.type === 'FIFO') return { kind: 'fifo', path, meta };
  return { refused: `unsupported entry type ${h.type}` };
}
