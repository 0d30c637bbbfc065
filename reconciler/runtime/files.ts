import { join } from 'node:path';
import type { Host } from '../host/host.js';
import { describeError, RuntimeError } from '../host/errors.js';
import type { FileChange } from '../plan/files.js';
import { MAX_CONTENT_BYTES } from '../spec/files.js';
import type { ContainerFile, ContainerSecret, DesiredContainer } from '../spec/types.js';
import { contentFileName, type ContainerPaths } from '../state/layout.js';
import type { IdRange } from '../state/userns.js';

/** The host file bind-mounted at a target of a container's files or secrets. */
export function contentFilePath(paths: ContainerPaths, kind: 'file' | 'secret', target: string): string {
  return join(kind === 'file' ? paths.files : paths.secrets, contentFileName(target));
}

/** Room of a container's secrets tmpfs: every secret at its largest, and one more (a rewrite in place never runs out). */
function secretsTmpfsBytes(count: number): number {
  return (count + 1) * MAX_CONTENT_BYTES;
}

type Entry = { kind: 'file'; e: ContainerFile } | { kind: 'secret'; e: ContainerSecret };

function entries(d: DesiredContainer): Entry[] {
  return [...d.spec.files.map((e) => ({ kind: 'file' as const, e })), ...d.spec.secrets.map((e) => ({ kind: 'secret' as const, e }))];
}

/** The bytes to write at a target; a load that read no contents cannot start or change the container. */
function contentOf(d: DesiredContainer, entry: Entry): Buffer {
  const data = d.contents?.get(entry.e.target);
  if (!data)
    throw new RuntimeError('FILES', `the content of ${entry.kind} ${entry.e.target} was not read by this pass`, { container: d.spec.name });
  return data;
}

function failure(d: DesiredContainer, entry: Entry, path: string, e: unknown): RuntimeError {
  const what = entry.kind === 'secret' ? `secret ${(entry.e as ContainerSecret).name}` : `file ${entry.e.target}`;
  return new RuntimeError('FILES', `write ${what} at ${path}: ${describeError(e)}`, { container: d.spec.name, path, cause: e });
}

/** Owner (the container's ids as the host knows them: shifted into its range with a user namespace) and mode. */
function setOwnerAndMode(host: Host, path: string, e: ContainerFile | ContainerSecret, userns: IdRange | undefined): void {
  host.chown(path, (userns?.uid ?? 0) + e.uid, (userns?.gid ?? 0) + e.gid);
  host.chmod(path, e.mode);
}

/** Mounts the container's secrets tmpfs unless it is mounted already (it is gone after a reboot). */
function ensureSecretsTmpfs(host: Host, paths: ContainerPaths, count: number): void {
  if (host.mountsUnder(paths.secrets).includes(paths.secrets)) return;
  host.mkdir(paths.secrets, 0o700);
  host.mountTmpfs(paths.secrets, secretsTmpfsBytes(count), 0o700);
}

/**
 * Writes every file and secret of a container about to start (the monitor then binds each at its
 * target, read-only): files under its data dir, secrets on a tmpfs of their own. No running
 * process holds the old ones, so each is written anew.
 */
export function writeContainerFiles(host: Host, paths: ContainerPaths, d: DesiredContainer, userns?: IdRange): void {
  if (d.spec.files.length) host.mkdir(paths.files, 0o700);
  if (d.spec.secrets.length) ensureSecretsTmpfs(host, paths, d.spec.secrets.length);
  for (const entry of entries(d)) {
    const data = contentOf(d, entry);
    const path = contentFilePath(paths, entry.kind, entry.e.target);
    try {
      host.writeFileAtomic(path, data, entry.e.mode);
      setOwnerAndMode(host, path, entry.e, userns);
    } catch (e) {
      throw failure(d, entry, path, e);
    }
  }
}

/**
 * Rewrites changed files and secrets of a running container in place (the same inode its bind
 * mount shows), with their modes and owners. Returns false, writing nothing, when a host file is
 * missing: only a restart can bind a new one.
 */
export function rewriteContainerFiles(
  host: Host,
  paths: ContainerPaths,
  d: DesiredContainer,
  changes: readonly FileChange[],
  userns?: IdRange,
): boolean {
  const todo = changes.map((c) => {
    const entry = entries(d).find((x) => x.kind === c.kind && x.e.target === c.target);
    if (!entry) throw new RuntimeError('FILES', `no ${c.kind} at ${c.target} in the spec`, { container: d.spec.name });
    return { entry, path: contentFilePath(paths, c.kind, c.target), data: contentOf(d, entry) };
  });
  if (todo.some((t) => host.lkind(t.path) !== 'file')) return false;
  for (const { entry, path, data } of todo) {
    try {
      host.writeFileInPlace(path, data);
      setOwnerAndMode(host, path, entry.e, userns);
    } catch (e) {
      throw failure(d, entry, path, e);
    }
  }
  return true;
}
