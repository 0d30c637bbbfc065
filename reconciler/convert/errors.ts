import { formatSpecError, type SpecError } from '../spec/types.js';

/**
 * Why a conversion stopped: READ (a file cannot be read), YAML (the compose file's syntax),
 * INVALID (a compose file that compose itself refuses: wrong shapes, undefined networks, volumes,
 * configs, secrets or services, a missing env_file), INTERPOLATION (`${VAR:?msg}` unset, a bad
 * `$` template), NOTHING (no service could be converted), STRICT (`--strict` and something not
 * converted), SPEC (a generated spec fails pocker's validation), OUTPUT (a spec file exists or
 * cannot be written).
 */
export type ConvertErrorCode = 'READ' | 'YAML' | 'INVALID' | 'INTERPOLATION' | 'NOTHING' | 'STRICT' | 'SPEC' | 'OUTPUT';

/** A conversion that cannot go on, with every problem found located as `file:line:col` where the file tells. */
export class ConvertError extends Error {
  constructor(
    readonly code: ConvertErrorCode,
    readonly problems: readonly SpecError[],
    options?: { cause?: unknown },
  ) {
    super(problems.map(formatSpecError).join('\n'), options);
    this.name = 'ConvertError';
  }

  /** One problem at a place of a file (line 1, column 1 when the place is the file as a whole). */
  static at(
    code: ConvertErrorCode,
    file: string,
    message: string,
    pos: { line: number; col: number } = { line: 1, col: 1 },
    cause?: unknown,
  ) {
    return new ConvertError(code, [{ file, line: pos.line, col: pos.col, message }], cause === undefined ? undefined : { cause });
  }
}
