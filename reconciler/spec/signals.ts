import { constants } from 'node:os';

/** The signals a workload can be asked to stop with, by name (SIGTERM) and number, from the host's table. */
const SIGNALS = constants.signals as Readonly<Record<string, number>>;

/** The signals the container's init passes on to the workload (native/monitor/init.c), and so the possible stop signals. */
export const STOP_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'] as const;

/** The default stop signal (Docker's, Kubernetes'). */
export const DEFAULT_STOP_SIGNAL = 'SIGTERM';

/**
 * Canonical name of a signal written as `SIGQUIT`, `QUIT` or `3` (as image configs and specs write
 * them); SIGKILL and SIGSTOP are refused as stop signals (the grace period would mean nothing).
 */
export function canonicalSignal(s: string): { name: string } | { error: string } {
  const t = s.trim().toUpperCase();
  let name: string | undefined;
  if (/^[0-9]+$/.test(t)) name = Object.keys(SIGNALS).find((k) => SIGNALS[k] === Number(t));
  else name = SIGNALS[t] !== undefined ? t : SIGNALS[`SIG${t}`] !== undefined ? `SIG${t}` : undefined;
  if (!name) return { error: `"${s}" is not a signal (examples: SIGTERM, SIGQUIT, SIGINT, 3)` };
  if (name === 'SIGKILL' || name === 'SIGSTOP')
    return { error: `${name} cannot be a stop signal: it cannot be handled (SIGKILL follows stopGracePeriod anyway)` };
  if (!(STOP_SIGNALS as readonly string[]).includes(name))
    return { error: `${name} is not passed on by the container's init (stop signals: ${STOP_SIGNALS.join(', ')})` };
  return { name };
}

/** The number of a canonical signal name. */
export function signalNumber(name: string): number {
  return SIGNALS[name] ?? SIGNALS[DEFAULT_STOP_SIGNAL]!;
}

/** The name of a signal number (9: SIGKILL), or the number as text when the host's table has none. */
export function signalName(n: number): string {
  return Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) ?? String(n);
}
