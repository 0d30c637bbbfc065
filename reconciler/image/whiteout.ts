import { constants } from 'node:fs';
import { posix } from 'node:path';
import { native } from '../native.js';

/** Prefix of an OCI whiteout file: `.wh.NAME` deletes NAME of the layers below. */
export const WHITEOUT_PREFIX = '.wh.';
/** Name of the OCI opaque marker: its directory hides everything of the layers below. */
export const OPAQUE_MARKER = '.wh..wh..opq';
/** The xattr overlayfs reads to treat a directory as opaque. */
export const OVERLAY_OPAQUE_XATTR = 'trusted.overlay.opaque';

/** What an OCI whiteout entry means, in overlayfs terms. */
export type Whiteout =
  /** Make a whiteout (character device 0/0) at path. */
  | { kind: 'whiteout'; path: string }
  /** Mark directory dir opaque (`''` is the layer root). */
  | { kind: 'opaque'; dir: string }
  /** Another `.wh..wh.` name (aufs bookkeeping, such as `.wh..wh.plnk`): nothing to apply. */
  | { kind: 'ignore' }
  /** `.wh.` with no usable name after it. */
  | { kind: 'invalid'; reason: string };

/**
 * Maps a normalized entry path (relative, no `.` or `..` parts) to its whiteout meaning, or null
 * when the name is not a whiteout. Whiteouts only ever apply to lower layers; a same-named entry
 * of the same layer wins (see unpack).
 */
export function whiteoutOf(path: string): Whiteout | null {
  const base = posix.basename(path);
  if (!base.startsWith(WHITEOUT_PREFIX)) return null;
  const dir = posix.dirname(path) === '.' ? '' : posix.dirname(path);
  if (base === OPAQUE_MARKER) return { kind: 'opaque', dir };
  if (base.startsWith(`${WHITEOUT_PREFIX}${WHITEOUT_PREFIX}`)) return { kind: 'ignore' };
  const name = base.slice(WHITEOUT_PREFIX.length);
  if (name === '' || name === '.' || name === '..') return { kind: 'invalid', reason: `whiteout "${base}" names no file` };
  return { kind: 'whiteout', path: dir ? `${dir}/${name}` : name };
}

/** Creates an overlayfs whiteout at abs: a character device with device number 0/0. */
export function makeWhiteout(abs: string): void {
  native().mknod(abs, constants.S_IFCHR, 0, 0);
}

/** Marks the directory abs opaque for overlayfs (its lower layers' entries are hidden). */
export function makeOpaque(abs: string): void {
  native().lsetxattr(abs, OVERLAY_OPAQUE_XATTR, Buffer.from('y'));
}
