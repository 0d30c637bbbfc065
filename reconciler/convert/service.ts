/** One compose service → one pocker spec (dependencies are resolved across services afterwards). */
import { capabilityName } from '../spec/capabilities.js';
import { parseReference } from '../spec/imageReference.js';
import { absolutePathProblem } from '../spec/paths.js';
import { canonicalSignal } from '../spec/signals.js';
import { convertCommand } from './command.js';
import { convertConfigsAndSecrets } from './configs.js';
import type { ServiceContext } from './context.js';
import { readDependsOn, type ComposeDependency } from './dependsOn.js';
import { convertEnvironment } from './environment.js';
import { convertHealthcheck } from './healthcheck.js';
import { convertNetwork } from './network.js';
import { convertPorts } from './ports.js';
import { convertResources } from './resources.js';
import type { SpecDocument } from './types.js';
import { convertDuration } from './units.js';
import { UNSUPPORTED } from './unsupported.js';
import { convertVolumes } from './volumes.js';
import { describe, isExtension, isMap, scalarString } from './values.js';

/** A converted service: its spec (without dependsOn yet) and its dependencies by service name. */
export interface ServiceSpec {
  spec: SpecDocument;
  dependencies: ComposeDependency[];
}

/** The keys convertService maps (or deliberately ignores: `init`, whose job pocker's own init does). */
const HANDLED = new Set([
  'image',
  'build',
  'container_name',
  'entrypoint',
  'command',
  'environment',
  'env_file',
  'ports',
  'networks',
  'network_mode',
  'volumes',
  'tmpfs',
  'depends_on',
  'healthcheck',
  'restart',
  'deploy',
  'cpus',
  'mem_limit',
  'memswap_limit',
  'pids_limit',
  'cpu_shares',
  'cpuset',
  'cpu_quota',
  'cpu_period',
  'blkio_config',
  'hostname',
  'user',
  'working_dir',
  'stop_signal',
  'stop_grace_period',
  'read_only',
  'privileged',
  'cap_add',
  'cap_drop',
  'tty',
  'configs',
  'secrets',
  'pull_policy',
  'scale',
  'init',
  'profiles',
  'extends',
]);

const HOSTNAME = /^[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*$/;
const USER = /^([0-9]+|[a-z_][a-z0-9_.-]*)(:([0-9]+|[a-z_][a-z0-9_.-]*))?$/;

/** The image reference, or null (reported) when the service cannot be converted without one. */
function image(ctx: ServiceContext): string | null {
  const img = scalarString(ctx.def.image);
  const build = ctx.def.build !== undefined && ctx.def.build !== null;
  if (img === null || img === '') {
    if (build)
      ctx.lose(
        'build',
        'pocker does not build images and the service names no image: not converted (build it, push it to a registry or pocker image import it, and set image)',
      );
    else ctx.lose('image', 'the service has no image (compose refuses it too): not converted');
    return null;
  }
  if (build)
    ctx.lose('build', `pocker does not build images: ${img} is used as it is (pulled from its registry, or pocker image import it first)`);
  const ref = parseReference(img);
  if ('error' in ref || !/^[a-z0-9][A-Za-z0-9._:/@+-]*$/.test(img) || img.length > 512) {
    ctx.lose(
      'image',
      `${JSON.stringify(img)} is not a registry reference pocker takes${'error' in ref ? ` (${ref.error})` : ''}: not converted`,
    );
    return null;
  }
  return img;
}

function restart(ctx: ServiceContext): SpecDocument['restart'] {
  const raw = ctx.def.restart === false ? 'no' : ctx.def.restart;
  if (raw !== undefined && raw !== null) {
    const r = scalarString(raw);
    if (r === 'no') return 'never';
    if (r === 'always' || r === 'unless-stopped') return 'always';
    const m = r === null ? null : /^on-failure(?::([0-9]+))?$/.exec(r);
    if (!m) throw ctx.invalid(['restart'], `restart is no, always, on-failure[:N] or unless-stopped, not ${describe(raw)}`);
    if (m[1] !== undefined) ctx.lose('restart', `${r}: pocker has no restart limit; it restarts on every failure (with backoff)`);
    return 'on-failure';
  }
  const policy = isMap(ctx.def.deploy) && isMap(ctx.def.deploy.restart_policy) ? ctx.def.deploy.restart_policy : null;
  if (!policy) return 'never';
  for (const k of ['max_attempts', 'delay', 'window'])
    if (policy[k] !== undefined) ctx.lose(`deploy.restart_policy.${k}`, 'pocker restarts with its own backoff and no limit');
  const condition = scalarString(policy.condition) ?? 'any';
  if (condition === 'none') return 'never';
  if (condition === 'on-failure') return 'on-failure';
  if (condition === 'any') return 'always';
  throw ctx.invalid(['deploy', 'restart_policy', 'condition'], `condition is none, on-failure or any, not ${describe(policy.condition)}`);
}

function capabilities(ctx: ServiceContext, key: 'cap_add' | 'cap_drop'): string[] {
  const raw = ctx.def[key];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw ctx.invalid([key], `${key} is a list, not ${describe(raw)}`);
  return raw.flatMap((c) => {
    const n = typeof c === 'string' ? capabilityName(c) : null;
    if (n) return [n];
    ctx.lose(key, `${describe(c)} is not a capability pocker knows: left out`);
    return [];
  });
}

function boolean(ctx: ServiceContext, key: string): boolean | undefined {
  const v = ctx.def[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw ctx.invalid([key], `${key} is true or false, not ${describe(v)}`);
  return v;
}

/** hostname, user, working_dir, stop_signal, stop_grace_period, pull_policy: checked against what the schema takes. */
function processSettings(ctx: ServiceContext, spec: SpecDocument): void {
  const hostname = scalarString(ctx.def.hostname);
  if (hostname !== null) {
    if (HOSTNAME.test(hostname) && hostname.length <= 63) spec.hostname = hostname;
    else
      ctx.lose(
        'hostname',
        `${JSON.stringify(hostname)} is not a hostname pocker takes (at most 63 letters, digits, "-" and "."): left out`,
      );
  }
  const user = scalarString(ctx.def.user);
  if (user !== null) {
    if (USER.test(user) && user.length <= 128) spec.user = user;
    else
      ctx.lose(
        'user',
        `${JSON.stringify(user)} is not a user pocker takes (a uid or a lowercase name, optionally :gid or :group): left out`,
      );
  }
  const wd = scalarString(ctx.def.working_dir);
  if (wd !== null) {
    const problem = absolutePathProblem(wd);
    if (problem) ctx.lose('working_dir', `${problem}: left out`);
    else spec.workingDir = wd;
  }
  const signal = scalarString(ctx.def.stop_signal);
  if (signal !== null) {
    const s = canonicalSignal(signal);
    if ('error' in s) ctx.lose('stop_signal', `${s.error}: the image's (else SIGTERM) is used`);
    else spec.stopSignal = s.name;
  }
  if (ctx.def.stop_grace_period !== undefined && ctx.def.stop_grace_period !== null) {
    const d = convertDuration(ctx.def.stop_grace_period);
    if ('error' in d) ctx.lose('stop_grace_period', `${d.error}: pocker's default (10s) applies`);
    else spec.stopGracePeriod = d.value;
  }
  const pull = scalarString(ctx.def.pull_policy);
  if (pull === 'never') spec.pull = 'never';
  else if (pull !== null && pull !== 'missing' && pull !== 'if_not_present')
    ctx.lose('pull_policy', `${pull}: pocker pulls an image when the store lacks it and pins its digest (pocker image update moves it)`);
}

function deployAndScale(ctx: ServiceContext): void {
  const deploy = ctx.def.deploy;
  if (deploy !== undefined && deploy !== null && !isMap(deploy))
    throw ctx.invalid(['deploy'], `deploy is a mapping, not ${describe(deploy)}`);
  for (const [k, v] of Object.entries(isMap(deploy) ? deploy : {})) {
    if (k === 'resources' || k === 'restart_policy' || isExtension(k)) continue;
    if (k === 'replicas') {
      if (v !== 1) ctx.lose('deploy.replicas', `${describe(v)}: pocker runs one container per spec`);
    } else if (k !== 'mode' || v !== 'replicated') ctx.lose(`deploy.${k}`, 'swarm deployment settings are not supported');
  }
  if (ctx.def.scale !== undefined && ctx.def.scale !== 1)
    ctx.lose('scale', `${describe(ctx.def.scale)}: pocker runs one container per spec`);
}

function unsupported(ctx: ServiceContext): void {
  for (const k of Object.keys(ctx.def)) {
    if (HANDLED.has(k) || isExtension(k)) continue;
    const why = UNSUPPORTED[k];
    ctx.lose(k, why ?? 'not a key of the compose specification that convert knows: ignored');
  }
  if (ctx.def.extends !== undefined) ctx.lose('extends', 'not resolved: the service is converted from its own keys only');
  if (ctx.def.init === false) ctx.lose('init', "every pocker container runs pocker's init as PID 1");
}

/** Converts one service whose container is called `name`; null (with findings) when it cannot be converted. */
export function convertService(ctx: ServiceContext, name: string): ServiceSpec | null {
  const img = image(ctx);
  if (img === null) {
    unsupported(ctx);
    return null;
  }
  const spec: SpecDocument = { apiVersion: 'pocker/v1', name, image: img, restart: 'never' };
  Object.assign(spec, convertCommand(ctx));
  const env = convertEnvironment(ctx);
  if (env) spec.env = env;
  processSettings(ctx, spec);
  const resources = convertResources(ctx);
  if (resources) spec.resources = resources;
  spec.network = convertNetwork(ctx, name, convertPorts(ctx));
  const targets = new Set<string>();
  const m = convertVolumes(ctx, targets);
  const { files, secrets } = convertConfigsAndSecrets(ctx, targets);
  if (m.mounts.length) spec.mounts = m.mounts;
  if (m.volumes.length) spec.volumes = m.volumes;
  if (m.tmpfs.length) spec.tmpfs = m.tmpfs;
  if (files.length) spec.files = files;
  if (secrets.length) spec.secrets = secrets;
  spec.restart = restart(ctx);
  const health = convertHealthcheck(ctx);
  if (health) spec.healthcheck = health;
  const privileged = boolean(ctx, 'privileged');
  if (privileged !== undefined) spec.privileged = privileged;
  const add = capabilities(ctx, 'cap_add');
  const drop = capabilities(ctx, 'cap_drop');
  if (add.length || drop.length) spec.capabilities = { ...(add.length && { add }), ...(drop.length && { drop }) };
  const readOnly = boolean(ctx, 'read_only');
  if (readOnly !== undefined) spec.readOnlyRootfs = readOnly;
  const tty = boolean(ctx, 'tty');
  if (tty) spec.tty = true;
  deployAndScale(ctx);
  unsupported(ctx);
  return { spec, dependencies: readDependsOn(ctx) };
}
