/** Error codes of the runtime: each failure says what, where and why. */
export type RuntimeErrorCode =
  | 'HOST_CHECK'
  | 'CGROUP'
  | 'MONITOR_START'
  | 'MONITOR_TIMEOUT'
  | 'CONTAINER_START'
  | 'STOP'
  | 'STATE'
  | 'CONFLICT'
  | 'NETWORK'
  | 'FILES'
  | 'USERNS'
  | 'NOT_FOUND'
  | 'NO_RECORD'
  | 'EXISTS'
  | 'RUNNING'
  | 'DECLARATIVE';

/** Codes of failures that trying again cannot mend: a command pointed at the wrong container. */
const TERMINAL_CODES: ReadonlySet<RuntimeErrorCode> = new Set(['DECLARATIVE', 'EXISTS', 'NOT_FOUND', 'NO_RECORD']);

/** Where a failure happened and why; `terminal` marks one that only a change of the spec can mend (whatever its code). */
export interface RuntimeErrorDetails {
  container?: string;
  path?: string;
  syscall?: string;
  cause?: unknown;
  terminal?: boolean;
}

/** A failure while changing the host, with the path or syscall involved and the cause. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    readonly details: RuntimeErrorDetails = {},
  ) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = 'RuntimeError';
  }

  /**
   * Trying again unchanged cannot succeed: the work waits for a change of the spec (or a command
   * was pointed at the wrong container). Every other failure is retryable: the host may change
   * under it (a device plugged in, a layer restored, a plugin fixed) without an event saying so.
   */
  get terminal(): boolean {
    return this.details.terminal ?? TERMINAL_CODES.has(this.code);
  }
}

/** Whether a thrown value is a terminal failure (anything that is not a RuntimeError is retryable). */
export function isTerminal(e: unknown): boolean {
  return e instanceof RuntimeError && e.terminal;
}

/** Short text of any thrown value, with errno code when there is one. */
export function describeError(e: unknown): string {
  if (e instanceof RuntimeError) return e.message;
  if (e instanceof Error) {
    const code = (e as NodeJS.ErrnoException).code;
    return code && !e.message.includes(code) ? `${e.message} (${code})` : e.message;
  }
  return String(e);
}
