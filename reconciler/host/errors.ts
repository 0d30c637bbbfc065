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
  | 'NOT_FOUND'
  | 'NO_RECORD'
  | 'EXISTS'
  | 'RUNNING'
  | 'DECLARATIVE';

/** A failure while changing the host, with the path or syscall involved and the cause. */
export class RuntimeError extends Error {
  constructor(
    readonly code: RuntimeErrorCode,
    message: string,
    readonly details: { container?: string; path?: string; syscall?: string; cause?: unknown } = {},
  ) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = 'RuntimeError';
  }
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
