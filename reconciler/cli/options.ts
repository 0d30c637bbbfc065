import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadInstanceConfig, type InstanceConfig } from '../instance/config.js';
import { DEFAULT_SPEC_DIR, UsageError } from './usage.js';
import type { Timeouts } from '../host/timeouts.js';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';
import { DEFAULT_DIRS, DEFAULT_SECRETS_DIR, type InstanceDirs } from '../state/layout.js';
import { stderrIsTerminal } from '../log/terminal.js';

export { DEFAULT_SPEC_DIR, formatCliError, GLOBAL_HELP, UsageError } from './usage.js';

/** Resolves --trusted-owner values (user names from /etc/passwd, or uids) to uids; root is always trusted. */
export function trustedUids(owners: readonly string[] | undefined): number[] {
  const uids = new Set<number>([0]);
  let passwd = '';
  for (const o of owners ?? []) {
    if (/^[0-9]+$/.test(o)) {
      uids.add(Number(o));
      continue;
    }
    passwd ||= readFileSync('/etc/passwd', 'utf8');
    const line = passwd.split('\n').find((l) => l.split(':')[0] === o);
    if (!line) throw new UsageError(`--trusted-owner ${o}: no such user in /etc/passwd`);
    uids.add(Number(line.split(':')[2]));
  }
  return [...uids];
}

/** Options every command accepts. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  dir: { type: 'string' },
  'state-dir': { type: 'string' },
  'data-dir': { type: 'string' },
  'cgroup-parent': { type: 'string' },
  'secrets-dir': { type: 'string' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

/** Parsed command line of one command. */
export interface Parsed<V> {
  values: V;
  positionals: string[];
  dir: string;
  dirs: InstanceDirs;
  secretsDir: string;
  timeouts: Timeouts;
  config: InstanceConfig;
  logLevel: LogLevel;
}

/** Parses argv with the global options plus the command's own; unknown options are usage errors. */
export function parseCommand<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], own: O, allowPositionals = false) {
  let parsed;
  try {
    parsed = parseArgs({ args, options: { ...GLOBAL_OPTIONS, ...own }, allowPositionals, strict: true });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const v = parsed.values as Record<string, string | boolean | undefined>;
  const level = (v['log-level'] as string | undefined) ?? (stderrIsTerminal() ? 'warn' : 'info');
  if (!(LOG_LEVELS as readonly string[]).includes(level)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}`);
  for (const k of ['config', 'dir', 'state-dir', 'data-dir', 'cgroup-parent', 'secrets-dir'] as const) {
    if (v[k] === '') throw new UsageError(`--${k} must not be empty`);
  }
  const configPath = v.config as string | undefined;
  const config = loadInstanceConfig(configPath ?? DEFAULT_CONFIG_PATH, configPath !== undefined);
  return {
    values: parsed.values,
    positionals: parsed.positionals,
    dir: resolve((v.dir as string | undefined) ?? config.specDir ?? DEFAULT_SPEC_DIR),
    dirs: {
      stateDir: (v['state-dir'] as string | undefined) ?? config.dirs.stateDir ?? DEFAULT_DIRS.stateDir,
      dataDir: (v['data-dir'] as string | undefined) ?? config.dirs.dataDir ?? DEFAULT_DIRS.dataDir,
      cgroupParent: (v['cgroup-parent'] as string | undefined) ?? config.dirs.cgroupParent ?? DEFAULT_DIRS.cgroupParent,
    },
    secretsDir: resolve((v['secrets-dir'] as string | undefined) ?? config.secretsDir ?? DEFAULT_SECRETS_DIR),
    timeouts: config.timeouts,
    config,
    logLevel: level as LogLevel,
  };
}
