import { lstatSync, mkdirSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import type { FSWatcher } from 'chokidar';
import { imageStorePaths } from '../image/store.js';
import { describeError } from '../host/errors.js';
import type { Logger } from '../log/logger.js';

/** What the controller watches for spec changes: the spec dir, the dir's own entry, the image store's references, the secrets dir. */
export interface SpecSourceOptions {
  dir: string;
  dataDir: string;
  /** Watched when it exists at start (a changed secret applies at once, not at the next resync). */
  secretsDir?: string;
  log: Logger;
  /** Called on every event that may change the desired set. */
  onChange: () => void;
  /** Called when something failed inside a watcher callback (logged by the caller; the watch goes on). */
  onError: (what: string, e: unknown) => void;
}

/** Identity of what the dir path points at now (its symlink's target changes when git-sync swaps it). */
function inodeOf(path: string): string {
  try {
    const l = lstatSync(path);
    return l.isSymbolicLink() ? `link:${l.ino}:${l.mtimeMs}` : `dir:${l.ino}`;
  } catch {
    return 'missing';
  }
}

async function ready(w: FSWatcher): Promise<FSWatcher> {
  await new Promise<void>((r) => w.once('ready', () => r()));
  return w;
}

/**
 * The file watches of one watching controller (chokidar): the spec dir's entries, the dir's entry
 * in its parent (a dir symlink swapped by git-sync is watched anew), the image store's
 * refs.json (an import under a reference a spec uses), and the secrets dir. Every event calls
 * onChange; what changed is decided by reading the whole dir again. File sources at the spec dir's
 * top level are seen by its watch; others by the periodic resync.
 */
export class SpecSources {
  private watchers: FSWatcher[] = [];
  private refsWatcher: FSWatcher | null = null;
  private secretsWatcher: FSWatcher | null = null;
  private closed = false;

  constructor(private readonly o: SpecSourceOptions) {}

  async start(): Promise<void> {
    await this.watchDir();
    this.refsWatcher = await this.watchImageRefs();
    this.secretsWatcher = await this.watchSecrets();
  }

  /** Closes every watcher (at most 2 s: a watcher chokidar cannot close is left behind, logged). */
  async close(): Promise<void> {
    this.closed = true;
    const extra = [this.refsWatcher, this.secretsWatcher].filter((w): w is FSWatcher => w !== null);
    const closing = Promise.all([...this.watchers, ...extra].map((w) => w.close()));
    const closedInTime = await Promise.race([
      closing.then(() => true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 2000).unref()),
    ]);
    if (!closedInTime) this.o.log.warn({ dir: this.o.dir }, 'the file watcher did not close within 2 s; stopping anyway');
    this.watchers = [];
    this.refsWatcher = null;
    this.secretsWatcher = null;
  }

  private async open(path: string, followSymlinks: boolean, depth: number): Promise<FSWatcher> {
    const { watch } = await import('chokidar');
    const w = watch(path, { depth, ignoreInitial: true, persistent: true, followSymlinks, atomic: false, ignorePermissionErrors: true });
    w.on('error', (e) => this.o.log.warn({ dir: path, error: describeError(e) }, `watching ${path}: ${describeError(e)}`));
    return w;
  }

  private async watchDir(): Promise<void> {
    const dir = this.o.dir;
    const openDir = async (): Promise<FSWatcher> => {
      const w = await this.open(dir, true, 0);
      w.on('all', () => this.o.onChange());
      return ready(w);
    };
    let dirWatcher = await openDir();
    const parent = await this.open(dirname(dir), false, 0);
    let inode = inodeOf(dir);
    parent.on('all', (_event, path) => {
      if (basename(path) !== basename(dir)) return;
      const now = inodeOf(dir);
      if (now === inode) return this.o.onChange();
      inode = now;
      void (async () => {
        if (this.closed) return;
        const old = dirWatcher;
        const fresh = await openDir();
        if (this.closed) {
          await fresh.close();
          return;
        }
        dirWatcher = fresh;
        this.watchers = [dirWatcher, parent];
        await old.close();
        this.o.onChange();
      })().catch((e: unknown) => this.o.onError(`watching ${dir} again after it was swapped`, e));
    });
    await ready(parent);
    this.watchers = [dirWatcher, parent];
  }

  private async watchSecrets(): Promise<FSWatcher | null> {
    const dir = this.o.secretsDir;
    if (!dir || inodeOf(dir) === 'missing') return null;
    const w = await this.open(dir, false, 0);
    w.on('all', () => this.o.onChange());
    return ready(w);
  }

  /** The store's dir is made when missing (it is the instance's own). */
  private async watchImageRefs(): Promise<FSWatcher> {
    const store = imageStorePaths(this.o.dataDir);
    mkdirSync(store.root, { recursive: true, mode: 0o700 });
    const w = await this.open(store.root, false, 0);
    w.on('all', (_event, path) => {
      if (basename(path) === basename(store.refs)) this.o.onChange();
    });
    return ready(w);
  }
}
