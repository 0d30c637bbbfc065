import { DEFAULT_CONFIG_PATH } from '../instance/config.js';
import { LOG_LEVELS } from '../log/logger.js';
import { DEFAULT_DIRS, DEFAULT_SECRETS_DIR } from '../state/layout.js';

/** Default spec directory. */
export const DEFAULT_SPEC_DIR = '/etc/pocker.d';

/** A failure as the CLI prints it: "CODE: message" when it carries a code. */
export function formatCliError(e: unknown): string {
  const err = e as Error & { code?: string };
  return `${err.code ? `${err.code}: ` : ''}${err.message}`;
}

/** A usage error: printed with a hint to --help, exit code 2. */
export class UsageError extends Error {}

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
