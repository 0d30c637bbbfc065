import { readFileSync, realpathSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';

function read(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The git dir of the work tree containing dir (a `.git` dir, or the `gitdir:` a `.git` file names). */
function findGitDir(dir: string): string | null {
  let at: string;
  try {
    at = realpathSync(dir);
  } catch {
    return null;
  }
  for (;;) {
    const dotgit = join(at, '.git');
    try {
      const st = statSync(dotgit);
      if (st.isDirectory()) return dotgit;
      const m = /^gitdir:\s*(.+)$/m.exec(read(dotgit) ?? '');
      if (m) return isAbsolute(m[1]!.trim()) ? m[1]!.trim() : join(at, m[1]!.trim());
    } catch {
      /* not here: look further up */
    }
    if (dirname(at) === at) return null;
    at = dirname(at);
  }
}

/** Resolves a ref in a git dir (loose refs, then packed-refs; worktrees share the common dir). */
function resolveRef(gitDir: string, ref: string): string | null {
  const common = (read(join(gitDir, 'commondir')) ?? '').trim();
  const dirs = [gitDir, ...(common ? [isAbsolute(common) ? common : join(gitDir, common)] : [])];
  for (const d of dirs) {
    const loose = (read(join(d, ref)) ?? '').trim();
    if (/^[0-9a-f]{40,64}$/.test(loose)) return loose;
    for (const line of (read(join(d, 'packed-refs')) ?? '').split('\n')) {
      const [sha, name] = line.split(' ');
      if (name === ref && sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
    }
  }
  return null;
}

/**
 * The commit checked out in the git work tree that holds dir, read from the git files (no git
 * process), or null when dir is not in a work tree. Follows the dir symlink, so a git-sync swap
 * is seen as the new revision.
 */
export function gitRevision(dir: string): string | null {
  const gitDir = findGitDir(dir);
  if (!gitDir) return null;
  const head = (read(join(gitDir, 'HEAD')) ?? '').trim();
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const m = /^ref:\s*(\S+)$/.exec(head);
  return m ? resolveRef(gitDir, m[1]!) : null;
}
