import type { Host } from '../host/host.js';
import { hostLookups } from './hostLookups.js';
import type { Logger } from '../log/logger.js';
import { SpecCache } from '../spec/cache.js';
import { loadSpecDir, type DirLoad, type Trust } from '../spec/load.js';
import { formatSpecError } from '../spec/types.js';

/**
 * Reads a watched spec dir as a whole, again and again: parses of unchanged files are reused, image
 * references are resolved against the store, and spec errors are logged once each (again only when
 * they change), so a resync every 30 s does not repeat them.
 */
export class SpecReader {
  private readonly cache = new SpecCache();
  private lastErrors = '';

  constructor(private readonly o: { dir: string; trust?: Trust; host: Host; dataDir: string; secretsDir?: string; log: Logger }) {}

  read(): DirLoad {
    const load = loadSpecDir(this.o.dir, this.o.trust, this.cache, hostLookups(this.o.host, this.o));
    const errors = load.errors.map(formatSpecError).join('\n');
    if (errors !== this.lastErrors) {
      for (const e of load.errors) this.o.log.error({ file: e.file, line: e.line, col: e.col }, formatSpecError(e));
      this.lastErrors = errors;
    }
    if (load.status !== 'ok')
      this.o.log.warn(
        { dir: this.o.dir, status: load.status },
        `spec dir unusable (${load.statusError ?? load.status}): nothing is removed`,
      );
    return load;
  }
}
