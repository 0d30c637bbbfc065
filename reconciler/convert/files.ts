import { readFileSync } from 'node:fs';
import { ConvertError } from './errors.js';

/** Largest file convert reads (a compose file, `.env`, an env_file). */
export const MAX_COMPOSE_FILE_BYTES = 4 << 20;

/**
 * How the converter reads the files a compose file names (`.env`, env_file): the mapping code
 * never touches the host itself. `NodeComposeFiles` reads the host's files, `MemoryFiles` a map.
 */
export interface ComposeFiles {
  /** The file's text, or null when it does not exist; throws a ConvertError (READ) when it exists but cannot be read. */
  readText(path: string): string | null;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The host's files, as UTF-8 text of at most MAX_COMPOSE_FILE_BYTES. */
export class NodeComposeFiles implements ComposeFiles {
  readText(path: string): string | null {
    let buf: Buffer;
    try {
      buf = readFileSync(path);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      if (err.code === 'ENOENT') return null;
      throw ConvertError.at('READ', path, `cannot read: ${err.code ?? err.message}`, undefined, e);
    }
    if (buf.length > MAX_COMPOSE_FILE_BYTES) throw ConvertError.at('READ', path, `file is larger than ${MAX_COMPOSE_FILE_BYTES} bytes`);
    try {
      return utf8.decode(buf);
    } catch (e) {
      throw ConvertError.at('READ', path, 'file is not valid UTF-8 text', undefined, e);
    }
  }
}

/** Files held in memory by absolute path (tests, and callers that already hold the texts). */
export class MemoryFiles implements ComposeFiles {
  /** Every path asked for, in order. */
  readonly reads: string[] = [];

  constructor(private readonly texts: Readonly<Record<string, string>> = {}) {}

  readText(path: string): string | null {
    this.reads.push(path);
    return Object.hasOwn(this.texts, path) ? this.texts[path]! : null;
  }
}
