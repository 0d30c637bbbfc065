import { statSync, type Stats } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { BUNDLE_BUILD_ID } from '../bundle.js';
import { SETTLED_MS, type Host, type HostReader } from '../host/host.js';
import { HASH_VERSION } from './hash.js';
import type { ParsedFile } from './parse.js';
import type { SpecSource } from './types.js';

/** The build of the parser that made the entries: a rebuilt pocker never reuses older parses. */
const CODE_ID = (() => {
  if (BUNDLE_BUILD_ID !== undefined) return `${HASH_VERSION}|build ${BUNDLE_BUILD_ID}`;
  try {
    return `${HASH_VERSION}|${statSync(fileURLToPath(new URL('./parse.js', import.meta.url))).mtimeMs}`;
  } catch {
    return `${HASH_VERSION}|unknown`;
  }
})();

interface Entry {
  /** Identity and version of the file that was parsed: device, inode, size, mtime, ctime. */
  stamp: string;
  /** Wall-clock ms when the file was read. */
  readAtMs: number;
  parsed: ParsedFile;
}

/** What a cache file holds on disk. */
interface CacheFile {
  code: string;
  entries: Record<string, Entry>;
}

/**
 * Parses of spec files, keyed by path and source, valid while the file's identity (device,
 * inode, size, mtime, ctime) is unchanged and it had settled before it was read. The watching
 * controller keeps one in memory; `reconcile --once` keeps one in the state dir, so a pass over
 * 1000 unchanged specs does not parse 1000 YAML files again. Owner and mode are checked on every
 * read, outside the cache.
 */
export class SpecCache {
  private entries = new Map<string, Entry>();
  private used = new Set<string>();
  private changed = false;

  private static key(path: string, source: Omit<SpecSource, 'doc'>): string {
    return `${source.dir}\0${source.file}\0${path}`;
  }

  private static stamp(st: Stats): string {
    return `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}:${st.ctimeMs}`;
  }

  /** The parse of this file if it is unchanged since it was cached. */
  lookup(path: string, source: Omit<SpecSource, 'doc'>, st: Stats): ParsedFile | undefined {
    const key = SpecCache.key(path, source);
    const e = this.entries.get(key);
    if (!e || e.stamp !== SpecCache.stamp(st)) return undefined;
    this.used.add(key);
    return e.parsed;
  }

  /** Remembers a parse of the file read at `readAtMs`, unless the file changed too shortly before. */
  store(path: string, source: Omit<SpecSource, 'doc'>, st: Stats, readAtMs: number, parsed: ParsedFile): void {
    const key = SpecCache.key(path, source);
    this.used.add(key);
    if (Math.max(st.mtimeMs, st.ctimeMs) > readAtMs - SETTLED_MS) {
      if (this.entries.delete(key)) this.changed = true;
      return;
    }
    this.entries.set(key, { stamp: SpecCache.stamp(st), readAtMs, parsed });
    this.changed = true;
  }

  /** Forgets every entry not looked up or stored since the last call (files that are gone). */
  prune(): void {
    for (const key of this.entries.keys()) {
      if (!this.used.has(key)) {
        this.entries.delete(key);
        this.changed = true;
      }
    }
    this.used = new Set();
  }

  /** Number of entries (tests). */
  get size(): number {
    return this.entries.size;
  }

  /** Reads a cache file; a missing, unreadable or older-build file gives an empty cache. */
  static load(host: HostReader, path: string): SpecCache {
    const cache = new SpecCache();
    try {
      const data = JSON.parse(host.readFile(path) ?? 'null') as CacheFile | null;
      if (data && data.code === CODE_ID && data.entries && typeof data.entries === 'object')
        cache.entries = new Map(Object.entries(data.entries));
    } catch {
      /* start empty */
    }
    return cache;
  }

  /**
   * Writes the cache file atomically (temp + rename), only when something changed; errors are
   * ignored (it is only a cache). Returns whether it wrote the file.
   */
  save(host: Host, path: string): boolean {
    if (!this.changed) return false;
    try {
      host.writeFileAtomic(path, JSON.stringify({ code: CODE_ID, entries: Object.fromEntries(this.entries) } satisfies CacheFile), 0o600);
      this.changed = false;
      return true;
    } catch {
      /* a cache that cannot be written is rebuilt next time */
      return false;
    }
  }
}
