import { posix } from 'node:path';
import type { HostReader } from '../host/host.js';

/**
 * The text of a file as the container will see it through its overlay: the topmost layer that
 * has the path wins, and an overlayfs whiteout (a 0/0 character device) there hides it. null when
 * no layer has it, 'unknown' when a symlink or a directory on the way means only the kernel can
 * tell. (Opaque directories are not looked at: a lower layer's file may be reported where an
 * opaque directory above hides it.)
 */
export function readImageFile(layersTopFirst: readonly string[], path: string, host: HostReader): string | null | 'unknown' {
  const segs = path.split('/').filter(Boolean);
  for (const layer of layersTopFirst) {
    let at = layer;
    for (let i = 0; i < segs.length; i++) {
      at = posix.join(at, segs[i]!);
      const k = host.lkind(at);
      if (k === null) break;
      if (k === 'symlink') return 'unknown';
      if (k === 'other') {
        const dev = host.deviceNode(at);
        return dev !== 'other' && dev?.kind === 'char' && dev.major === 0 && dev.minor === 0 ? null : 'unknown';
      }
      if (i === segs.length - 1) return k === 'file' ? host.readFile(at) : 'unknown';
      if (k !== 'dir') return null;
    }
  }
  return null;
}

/** Whether a passwd- or group-style file (name:x:id:...) has an entry of this name. */
function hasEntry(text: string, name: string): boolean {
  return text.split('\n').some((l) => l.split(':')[0] === name);
}

/**
 * Why the spec's `user` cannot be resolved in the image, checked the way the init resolves it
 * (Docker's rules): a user name must be in /etc/passwd, a group name in /etc/group; numeric ids
 * need no entry. Empty when it resolves or only the kernel can tell.
 */
export function userProblems(user: string | null, layersTopFirst: readonly string[], host: HostReader): string[] {
  if (!user) return [];
  const [u = '', g] = user.split(':');
  const problems: string[] = [];
  for (const [value, file, what] of [
    [u, '/etc/passwd', 'user'],
    [g, '/etc/group', 'group'],
  ] as const) {
    if (value === undefined || value === '' || /^[0-9]+$/.test(value)) continue;
    const text = readImageFile(layersTopFirst, file, host);
    if (text === 'unknown') continue;
    if (text === null || !hasEntry(text, value))
      problems.push(`${what} ${value} not found in the image's ${file}${text === null ? ' (the image has none)' : ''}`);
  }
  return problems;
}
