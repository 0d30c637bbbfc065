import { describeError } from '../host/errors.js';
import type { Logger } from '../log/logger.js';

/**
 * Logs failures of the watching controller's own steps (a reload, a resync, a removal decision)
 * once per distinct message in a row: a spec dir that keeps failing the same way every resync is
 * reported once, not every 30 s.
 */
export class FailureLog {
  private last = '';

  constructor(
    private readonly log: Logger,
    private readonly dir: string,
  ) {}

  failed(what: string, e: unknown): void {
    const message = `${what}: ${describeError(e)}`;
    if (message === this.last) return;
    this.last = message;
    this.log.error(
      { dir: this.dir, error: describeError(e) },
      `${message}; the controller keeps going and tries again at the next change or resync`,
    );
  }
}
