import { fstatSync } from 'node:fs';

/**
 * Whether stderr is a terminal. Only a character device can be one, and fstat says so without
 * building process.stderr, which for a pipe (CI, scripts, a parent capturing output) loads the
 * net module: a few milliseconds of every one-shot command that prints nothing to stderr.
 */
export function stderrIsTerminal(): boolean {
  try {
    if (!fstatSync(2).isCharacterDevice()) return false;
  } catch {
    return false;
  }
  return !!process.stderr.isTTY;
}
