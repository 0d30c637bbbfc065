/** The logging surface pocker uses (a subset of pino's), so tests can pass a silent or recording one. */
export interface Logger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Log levels accepted by --log-level. */
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/** A logger that drops everything. */
export const silentLogger: Logger = { debug() {}, info() {}, warn() {}, error() {} };

/**
 * pino writing JSON lines to stderr (synchronously, so nothing is lost when a pass exits), loaded
 * only when a command logs.
 */
export async function createLogger(level: LogLevel): Promise<Logger> {
  if (level === 'silent') return silentLogger;
  const { pino } = await import('pino');
  const logger = pino({ level, base: null, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ fd: 2, sync: true }));
  return {
    debug: (o, m) => logger.debug(o, m),
    info: (o, m) => logger.info(o, m),
    warn: (o, m) => logger.warn(o, m),
    error: (o, m) => logger.error(o, m),
  };
}
