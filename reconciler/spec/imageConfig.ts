import { canonicalSignal } from './signals.js';
import type { ContainerSpec, UserSpec } from './types.js';

/** What an image's config says runs by default (the `config` object of an OCI image config). */
export interface ImageConfig {
  entrypoint?: string[];
  cmd?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  user?: string;
  /** Canonical signal name. */
  stopSignal?: string;
}

const strings = (v: unknown): string[] | undefined => (Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...v] : undefined);

/**
 * The runtime defaults of an image config document (`{config: {Entrypoint, Cmd, Env, WorkingDir,
 * User, StopSignal}}`, OCI and Docker alike). Malformed or empty fields are left out; Env entries
 * without `=` are ignored (as Docker does).
 */
export function parseImageConfig(doc: unknown): ImageConfig {
  const c = (doc as { config?: Record<string, unknown> } | null)?.config;
  if (!c || typeof c !== 'object') return {};
  const out: ImageConfig = {};
  const entrypoint = strings(c['Entrypoint']);
  if (entrypoint?.length) out.entrypoint = entrypoint;
  const cmd = strings(c['Cmd']);
  if (cmd?.length) out.cmd = cmd;
  const env = strings(c['Env']);
  if (env?.length) {
    out.env = {};
    for (const kv of env) {
      const i = kv.indexOf('=');
      if (i > 0) out.env[kv.slice(0, i)] = kv.slice(i + 1);
    }
  }
  if (typeof c['WorkingDir'] === 'string' && c['WorkingDir'].startsWith('/')) out.workingDir = c['WorkingDir'];
  if (typeof c['User'] === 'string' && c['User'] !== '') out.user = c['User'];
  if (typeof c['StopSignal'] === 'string') {
    const s = canonicalSignal(c['StopSignal']);
    if ('name' in s) out.stopSignal = s.name;
  }
  return out;
}

/**
 * The argv with Kubernetes' rules: the spec's command replaces the image's Entrypoint and drops
 * its Cmd; args replace the Cmd; neither runs Entrypoint + Cmd.
 */
export function effectiveArgv(user: Pick<UserSpec, 'command' | 'args'>, config: ImageConfig): string[] {
  if (user.command) return [...user.command, ...(user.args ?? [])];
  return [...(config.entrypoint ?? []), ...(user.args ?? config.cmd ?? [])];
}

/**
 * The spec as it runs on an image: argv by effectiveArgv, the image's Env under the spec's env,
 * WorkingDir, User and StopSignal of the image unless the spec sets them.
 */
export function applyImageConfig(user: UserSpec, spec: ContainerSpec, config: ImageConfig): ContainerSpec {
  return {
    ...spec,
    command: effectiveArgv(user, config),
    env: Object.fromEntries(Object.entries({ ...config.env, ...user.env }).sort(([a], [b]) => (a < b ? -1 : 1))),
    workingDir: user.workingDir ?? config.workingDir ?? spec.workingDir,
    user: user.user ?? config.user ?? spec.user,
    stopSignal: user.stopSignal ?? config.stopSignal ?? spec.stopSignal,
  };
}
