import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { formatMetricsAddress, parseMetricsAddress, type MetricsAddress } from '../controller/metricsAddress.js';
import { DEFAULT_NOTIFY, type NotifyOptions } from '../controller/notifier.js';
import type { InstanceConfig } from '../instance/config.js';
import { parseDuration } from '../spec/duration.js';
import { parseEventTypes } from '../state/events.js';
import { UsageError } from './options.js';

/** The flags of the watching controller's listener and hook, as parsed by reconcile. */
export interface WatchingFlags {
  'metrics-addr'?: string;
  'metrics-allow-remote'?: boolean;
  'notify-exec'?: string;
  'notify-on'?: string;
  'notify-timeout'?: string;
}

/**
 * The hook must be a program root alone can change: it runs as root for every event. Refused
 * otherwise, with what is wrong.
 */
export function checkHook(path: string): void {
  if (!isAbsolute(path)) throw new UsageError(`--notify-exec ${path}: give an absolute path`);
  let st;
  try {
    st = statSync(path);
  } catch (e) {
    throw new UsageError(`--notify-exec ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new UsageError(`--notify-exec ${path}: not a regular file`);
  if ((st.mode & 0o111) === 0) throw new UsageError(`--notify-exec ${path}: not executable (chmod 0755 it)`);
  if (st.uid !== 0) throw new UsageError(`--notify-exec ${path}: owned by uid ${st.uid}; it runs as root, so it must be root's`);
  if ((st.mode & 0o022) !== 0)
    throw new UsageError(`--notify-exec ${path}: writable by group or others (mode ${(st.mode & 0o777).toString(8)}); it runs as root`);
}

/** The listener address and hook from the flags over the instance config's `metrics:` and `notify:` keys. */
export function watchingOptions(v: WatchingFlags, config: InstanceConfig): { metricsAddress?: MetricsAddress; notify?: NotifyOptions } {
  const out: { metricsAddress?: MetricsAddress; notify?: NotifyOptions } = {};
  const addrText = v['metrics-addr'] ?? config.metrics?.address;
  if (addrText !== undefined) {
    const a = parseMetricsAddress(addrText);
    if ('error' in a) throw new UsageError(`--metrics-addr: ${a.error}`);
    const remote = !!v['metrics-allow-remote'] || !!config.metrics?.allowRemote;
    if (a.kind === 'tcp' && !a.loopback && !remote)
      throw new UsageError(
        `--metrics-addr ${formatMetricsAddress(a)} is reachable from other hosts; metrics and the status page have no authentication: add --metrics-allow-remote if that is meant`,
      );
    out.metricsAddress = a;
  } else if (v['metrics-allow-remote']) throw new UsageError('--metrics-allow-remote needs --metrics-addr');
  const exec = v['notify-exec'] ?? config.notify?.exec;
  if (exec !== undefined) {
    checkHook(exec);
    let on = config.notify?.on ?? DEFAULT_NOTIFY.on;
    if (v['notify-on'] !== undefined) {
      const t = parseEventTypes(v['notify-on']);
      if ('error' in t) throw new UsageError(`--notify-on: ${t.error}`);
      if (!t.types.length) throw new UsageError('--notify-on: name at least one event type');
      on = t.types;
    }
    let timeoutMs = config.notify?.timeoutMs ?? DEFAULT_NOTIFY.timeoutMs;
    if (v['notify-timeout'] !== undefined) {
      const d = parseDuration(v['notify-timeout']);
      if ('error' in d) throw new UsageError(`--notify-timeout: ${d.error}`);
      if (d.ms < 100) throw new UsageError('--notify-timeout must be at least 100ms');
      timeoutMs = d.ms;
    }
    out.notify = { exec, on, timeoutMs, queueLimit: DEFAULT_NOTIFY.queueLimit };
  } else if (v['notify-on'] !== undefined || v['notify-timeout'] !== undefined)
    throw new UsageError('--notify-on and --notify-timeout need --notify-exec');
  return out;
}
