import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { DEFAULT_CONFIG_PATH, loadInstanceConfig, type InstanceConfig } from '../instance/config.js';
import type { Timeouts } from '../host/timeouts.js';
import { LOG_LEVELS, type LogLevel } from '../log/logger.js';
import { DEFAULT_DIRS, DEFAULT_SECRETS_DIR, type InstanceDirs } from '../state/layout.js';

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

/** Default spec directory. */
export const DEFAULT_SPEC_DIR = '/etc/pocker.d';

/** A failure as the CLI prints it: "CODE: message" when it carries a code. */
export function formatCliError(e: unknown): string {
  const err = e as Error & { code?: string };
  return `${err.code ? `${err.code}: ` : ''}${err.message}`;
}

/** A usage error: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {}

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

/** Help text for the global options. */
export const GLOBAL_HELP = `Global options (each one overrides the same key of the instance config):
  --config FILE         the instance config (default ${DEFAULT_CONFIG_PATH}, when it exists): state dir, data dir,
                        cgroup parent, spec dir, secrets dir and timeouts, shared by the controller and every command
  --dir DIR             spec directory (default ${DEFAULT_SPEC_DIR}); made absolute, symlinks kept: it names the owner of its containers
  --state-dir DIR       what runs now: pids, health, locks (tmpfs; default ${DEFAULT_DIRS.stateDir})
  --data-dir DIR        what each container is: records, writable layers, logs, images (default ${DEFAULT_DIRS.dataDir})
  --cgroup-parent PATH  cgroup holding all pocker cgroups, relative to each hierarchy root (default ${DEFAULT_DIRS.cgroupParent})
  --secrets-dir DIR     where the secrets specs name are read from, root's alone (default ${DEFAULT_SECRETS_DIR})
  --log-level LEVEL     ${LOG_LEVELS.join('|')} (default: info, or warn when stderr is a terminal); JSON logs go to stderr
  -h, --help            show help`;

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
  const level = (v['log-level'] as string | undefined) ?? (process.stderr.isTTY ? 'warn' : 'info');
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
