import { createRequire } from 'node:module';
import { stderrIsTerminal } from './terminal.js';

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

const ORDER: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: Infinity };

/**
 * pino writing JSON lines to stderr (synchronously, so nothing is lost when a pass exits), or
 * human-readable lines through pino-pretty when stderr is a terminal. pino is loaded on the first
 * line actually logged: a pass that has nothing to say never pays for it.
 */
export function createLogger(level: LogLevel): Logger {
  if (level === 'silent') return silentLogger;
  let logger: import('pino').Logger | undefined;
  const get = (): import('pino').Logger => {
    if (!logger) {
      const require = createRequire(import.meta.url);
      const { pino } = require('pino') as typeof import('pino');
      const opts = { level, base: null, timestamp: pino.stdTimeFunctions.isoTime };
      if (stderrIsTerminal()) {
        const pretty = require('pino-pretty') as (o: object) => NodeJS.WritableStream;
        logger = pino(
          opts,
          pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }) as never,
        );
      } else {
        logger = pino(opts, pino.destination({ fd: 2, sync: true }));
      }
    }
    return logger;
  };
  const at =
    (l: Exclude<LogLevel, 'silent'>) =>
    (o: object, m?: string): void => {
      if (ORDER[l] >= ORDER[level]) get()[l](o, m);
    };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}
