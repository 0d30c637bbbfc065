import { capabilityName } from './capabilities.js';
import { formatCpuList, parseCpuList } from './cpuset.js';
import { parseDuration } from './duration.js';
import { normalizeIo, type RawIoLimit } from './io.js';
import { absolutePathProblem, layerPathProblem, mountTargetProblem } from './paths.js';
import { parseQuantity } from './quantity.js';
import { formatReference, parseReference } from './imageReference.js';
import { canonicalSignal, DEFAULT_STOP_SIGNAL } from './signals.js';
import { effectiveFiles, effectiveSecrets, normalizeFiles, type RawFiles } from './files.js';
import { effectiveRules, normalizeRules, type RawFirewallRule } from './firewall.js';
import {
  DEFAULT_NETWORK_NAME,
  DEFAULT_USERNS_SIZE,
  type ContainerSpec,
  type ImageSource,
  type NetworkMode,
  type PullPolicy,
  type Resources,
  type RestartPolicy,
  type UserSpec,
  type UsernsSpec,
} from './types.js';

/** A spec problem located by its path inside the document (keys and indexes). */
export interface PathError {
  path: Array<string | number>;
  message: string;
}

/** The shape the JSON Schema guarantees; semantic checks happen here. */
export interface RawSpec extends RawFiles {
  apiVersion?: string;
  name?: string;
  hostname?: string;
  image: string | { layers?: string[]; ref?: string };
  pull?: PullPolicy;
  autoUpdate?: { interval?: string; rollbackWindow?: string };
  command?: string[];
  args?: string[];
  env?: Record<string, string>;
  workingDir?: string;
  resources?: {
    cpus?: number;
    cpuset?: string;
    cpuShares?: number;
    memory?: string | number;
    memsw?: string | number;
    pids?: number;
    io?: RawIoLimit[];
  };
  state?: 'running' | 'paused' | 'stopped';
  network?: {
    mode?: NetworkMode;
    name?: string;
    ports?: Array<{ host: number; container: number; protocol?: 'tcp' | 'udp'; hostIP?: string }>;
    aliases?: string[];
    ingress?: RawFirewallRule[];
    egress?: RawFirewallRule[];
  };
  mounts?: Array<{ source: string; target: string; readOnly?: boolean; idmap?: boolean }>;
  volumes?: Array<{ name: string; target: string; readOnly?: boolean }>;
  tmpfs?: Array<{ target: string; size?: string | number; mode?: string }>;
  restart?: RestartPolicy;
  stopGracePeriod?: string;
  stopSignal?: string;
  restartBackoff?: { initial?: string; max?: string; resetAfter?: string };
  healthcheck?: {
    exec?: string[];
    http?: { port: number; path?: string; expectStatus?: number };
    tcp?: { port: number };
    interval?: string;
    timeout?: string;
    retries?: number;
    startPeriod?: string;
    onUnhealthy?: 'restart' | 'none';
  };
  dependsOn?: Array<{ name: string; condition?: 'started' | 'healthy' | 'completed'; restartWith?: boolean }>;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  user?: string;
  userns?: 'auto' | 'host' | { size: number };
  readOnlyRootfs?: boolean;
  tty?: boolean;
}

/** Smallest memory limit accepted: below this no process starts reliably. */
export const MIN_MEMORY = 4 * 2 ** 20;

/** Defaults pocker fills in; they are not part of the hash. */
export const DEFAULTS = {
  workingDir: '/',
  network: 'none' as NetworkMode,
  restart: 'always' as RestartPolicy,
  stopGracePeriodMs: 10_000,
  health: { intervalMs: 10_000, timeoutMs: 5_000, retries: 3, startPeriodMs: 0, onUnhealthy: 'restart' as const },
  /** Process limit of a container that sets none (a fork bomb stops there). */
  pids: 4096,
  /** How often an autoUpdate tag is checked, and how long a new version is watched. */
  autoUpdateIntervalMs: 6 * 3600_000,
  rollbackWindowMs: 5 * 60_000,
  /** Size of a tmpfs that sets none (Docker's /dev/shm default is 64 MiB too). */
  tmpfsBytes: 64 * 2 ** 20,
};

/** Parses the optional duration fields of an object into milliseconds under new names. */
function durations<K extends string>(
  raw: Partial<Record<K, string | undefined>> | undefined,
  names: Record<K, string>,
  path: string,
  errors: PathError[],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, outKey] of Object.entries(names) as Array<[K, string]>) {
    const v = raw?.[k];
    if (v === undefined) continue;
    const r = parseDuration(v);
    if ('error' in r) errors.push({ path: [path, k], message: `${path}.${k}: ${r.error}` });
    else out[outKey] = r.ms;
  }
  return out;
}

/** autoUpdate's durations; only a registry image named by a tag can move by itself. */
function normalizeAutoUpdate(raw: RawSpec, image: ImageSource | undefined, errors: PathError[]): UserSpec['autoUpdate'] {
  const d = durations(raw.autoUpdate, { interval: 'intervalMs', rollbackWindow: 'rollbackWindowMs' }, 'autoUpdate', errors);
  if (d.intervalMs !== undefined && d.intervalMs < 1000)
    errors.push({ path: ['autoUpdate', 'interval'], message: 'autoUpdate.interval must be at least 1s' });
  if (image && !('reference' in image))
    errors.push({
      path: ['autoUpdate'],
      message: 'autoUpdate needs a registry image (image: REGISTRY/NAME:TAG); layers and imported refs never move',
    });
  else if (image && 'reference' in image && image.reference.includes('@'))
    errors.push({ path: ['autoUpdate'], message: `autoUpdate needs a tag: ${image.reference} names a digest, which never moves` });
  else if (raw.pull === 'never') errors.push({ path: ['autoUpdate'], message: 'autoUpdate pulls: it cannot be used with pull: never' });
  return d;
}

function normalizeResources(raw: NonNullable<RawSpec['resources']>, errors: PathError[]): Resources {
  const out: Resources = {};
  const at = (key: string): Array<string | number> => ['resources', key];
  if (raw.cpus !== undefined) out.cpus = Math.round(raw.cpus * 1000) / 1000;
  if (raw.cpuShares !== undefined) out.cpuShares = raw.cpuShares;
  if (raw.cpuset !== undefined) {
    const r = parseCpuList(raw.cpuset);
    if ('error' in r) errors.push({ path: at('cpuset'), message: r.error });
    else out.cpuset = formatCpuList(r.cpus);
  }
  if (raw.memory !== undefined) {
    const r = parseQuantity(raw.memory);
    if ('error' in r) errors.push({ path: at('memory'), message: `memory: ${r.error}` });
    else if (r.bytes < MIN_MEMORY) errors.push({ path: at('memory'), message: `memory must be at least 4Mi (got ${raw.memory})` });
    else out.memory = r.bytes;
  }
  if (raw.memsw !== undefined) {
    if (raw.memsw === 'unlimited') out.memsw = 'unlimited';
    else {
      const r = parseQuantity(raw.memsw);
      if ('error' in r) errors.push({ path: at('memsw'), message: `memsw: ${r.error}` });
      else out.memsw = r.bytes;
    }
    if (raw.memory === undefined) {
      errors.push({ path: at('memsw'), message: 'memsw needs memory: set resources.memory too (memsw is memory + swap)' });
    } else if (typeof out.memsw === 'number' && out.memory !== undefined && out.memsw < out.memory) {
      errors.push({ path: at('memsw'), message: `memsw (${raw.memsw}) must be at least memory (${raw.memory}): it is memory + swap` });
    }
  }
  if (raw.pids !== undefined) out.pids = raw.pids;
  if (raw.io?.length) out.io = normalizeIo(raw.io, errors);
  return out;
}

/** Checks every path of the spec; returns each mount target with the field that mounts it. */
function checkPaths(raw: RawSpec, errors: PathError[]): Map<string, string> {
  ((typeof raw.image === 'object' && raw.image.layers) || []).forEach((l, i) => {
    const p = layerPathProblem(l);
    if (p) errors.push({ path: ['image', 'layers', i], message: p });
  });
  if (raw.workingDir !== undefined) {
    const p = absolutePathProblem(raw.workingDir);
    if (p) errors.push({ path: ['workingDir'], message: p });
  }
  const targets = new Map<string, string>();
  (raw.mounts ?? []).forEach((m, i) => {
    const s = absolutePathProblem(m.source);
    if (s) errors.push({ path: ['mounts', i, 'source'], message: s });
    const t = mountTargetProblem(m.target);
    if (t) errors.push({ path: ['mounts', i, 'target'], message: t });
    const prev = targets.get(m.target);
    if (prev !== undefined) errors.push({ path: ['mounts', i, 'target'], message: `target ${m.target} is already mounted by ${prev}` });
    targets.set(m.target, `mounts[${i}]`);
  });
  for (const field of ['volumes', 'tmpfs'] as const) {
    (raw[field] ?? []).forEach((m, i) => {
      const t = mountTargetProblem(m.target);
      if (t) errors.push({ path: [field, i, 'target'], message: t });
      const prev = targets.get(m.target);
      if (prev !== undefined) errors.push({ path: [field, i, 'target'], message: `target ${m.target} is already mounted by ${prev}` });
      targets.set(m.target, `${field}[${i}]`);
    });
  }
  return targets;
}

/** tmpfs entries with their sizes in bytes and modes as numbers (defaults left out). */
function normalizeTmpfs(raw: RawSpec, errors: PathError[]): UserSpec['tmpfs'] {
  return (raw.tmpfs ?? []).map((t, i) => {
    const out: NonNullable<UserSpec['tmpfs']>[number] = { target: t.target };
    if (t.size !== undefined) {
      const q = parseQuantity(t.size);
      if ('error' in q) errors.push({ path: ['tmpfs', i, 'size'], message: q.error });
      else if (q.bytes < 4096) errors.push({ path: ['tmpfs', i, 'size'], message: `size ${t.size} is below one page (4096 bytes)` });
      else out.sizeBytes = q.bytes;
    }
    if (t.mode !== undefined) out.mode = parseInt(t.mode, 8);
    return out;
  });
}

/**
 * The image source in canonical form: a registry reference with Docker's defaults filled in, or the
 * layers or store reference as written. Directories have no image config: they need a command.
 */
function normalizeImage(raw: RawSpec, errors: PathError[]): ImageSource | undefined {
  if (typeof raw.image === 'string') {
    const r = parseReference(raw.image);
    if ('error' in r) {
      errors.push({ path: ['image'], message: `image ${JSON.stringify(raw.image)}: ${r.error}` });
      return undefined;
    }
    return { reference: formatReference(r) };
  }
  if (raw.pull !== undefined) errors.push({ path: ['pull'], message: 'pull applies to registry images (image: NAME[:TAG]) only' });
  if (raw.image.ref !== undefined) return { ref: raw.image.ref };
  if (raw.command === undefined)
    errors.push({ path: ['image'], message: 'image.layers has no image config to take a command from: give command' });
  return { layers: [...(raw.image.layers ?? [])] };
}

/** Bridge-only fields only with bridge; one host port per protocol and address. */
function checkNetwork(net: RawSpec['network'], errors: PathError[]): void {
  if (!net) return;
  const mode = net.mode ?? DEFAULTS.network;
  if (mode !== 'bridge') {
    if (net.name !== undefined)
      errors.push({ path: ['network', 'name'], message: `network.name needs network.mode bridge (mode is ${mode})` });
    if (net.ports?.length)
      errors.push({ path: ['network', 'ports'], message: `network.ports needs network.mode bridge (mode is ${mode})` });
    if (net.aliases?.length)
      errors.push({ path: ['network', 'aliases'], message: `network.aliases needs network.mode bridge (mode is ${mode})` });
    for (const k of ['ingress', 'egress'] as const)
      if (net[k]?.length)
        errors.push({
          path: ['network', k],
          message: `network.${k} needs network.mode bridge (mode is ${mode}${mode === 'host' ? ": rules would change the host's own firewall" : ''})`,
        });
  }
  const seen = new Map<string, number>();
  (net.ports ?? []).forEach((p, i) => {
    const key = `${p.protocol ?? 'tcp'}/${p.host}`;
    const prev = seen.get(key);
    if (prev !== undefined)
      errors.push({ path: ['network', 'ports', i, 'host'], message: `host port ${key} is already published by network.ports[${prev}]` });
    seen.set(key, i);
  });
}

/** The network section as the user wrote it, in canonical form (for the hash). */
function userNetwork(net: NonNullable<RawSpec['network']>, errors: PathError[]): NonNullable<UserSpec['network']> {
  const ingress = normalizeRules(net.ingress, 'ingress', errors);
  const egress = normalizeRules(net.egress, 'egress', errors);
  return {
    ...(ingress.length > 0 && { ingress }),
    ...(egress.length > 0 && { egress }),
    ...(net.mode !== undefined && { mode: net.mode }),
    ...(net.name !== undefined && { name: net.name }),
    ...(net.aliases?.length && { aliases: [...net.aliases] }),
    ...(net.ports?.length && {
      ports: net.ports.map((p) => ({
        host: p.host,
        container: p.container,
        ...(p.protocol !== undefined && { protocol: p.protocol }),
        ...(p.hostIP !== undefined && { hostIP: p.hostIP }),
      })),
    }),
  };
}

/**
 * Checks what the schema cannot express and normalizes a schema-valid document.
 * `name` is the container name (from the document or the file's basename).
 */
export function normalizeSpec(raw: RawSpec, name: string): { user: UserSpec; spec: ContainerSpec } | { errors: PathError[] } {
  const errors: PathError[] = [];
  checkNetwork(raw.network, errors);
  const image = normalizeImage(raw, errors);
  if (raw.command?.[0] === '') errors.push({ path: ['command', 0], message: 'command[0] (the program) is empty' });
  for (const key of ['command', 'args'] as const) {
    raw[key]?.forEach((arg, i) => {
      if (arg.includes('\0')) errors.push({ path: [key, i], message: `${key} arguments cannot contain a NUL byte` });
    });
  }
  let stopSignal: string | undefined;
  if (raw.stopSignal !== undefined) {
    const r = canonicalSignal(raw.stopSignal);
    if ('error' in r) errors.push({ path: ['stopSignal'], message: `stopSignal: ${r.error}` });
    else stopSignal = r.name;
  }
  for (const [k, v] of Object.entries(raw.env ?? {})) {
    if (v.includes('\0')) errors.push({ path: ['env', k], message: `env ${k} cannot contain a NUL byte` });
  }
  const mountTargets = checkPaths(raw, errors);
  const fileEntries = normalizeFiles(raw, mountTargets, errors);
  const resources = raw.resources ? normalizeResources(raw.resources, errors) : undefined;
  const backoff = durations(
    raw.restartBackoff,
    { initial: 'initialMs', max: 'maxMs', resetAfter: 'resetAfterMs' },
    'restartBackoff',
    errors,
  );
  if (backoff.initialMs !== undefined && backoff.maxMs !== undefined && backoff.maxMs < backoff.initialMs) {
    errors.push({ path: ['restartBackoff', 'max'], message: 'restartBackoff.max must be at least restartBackoff.initial' });
  }
  let healthcheck: UserSpec['healthcheck'];
  if (raw.healthcheck) {
    const h = raw.healthcheck;
    if (h.exec?.[0] === '') errors.push({ path: ['healthcheck', 'exec', 0], message: 'healthcheck.exec[0] (the program) is empty' });
    h.exec?.forEach((arg, i) => {
      if (arg.includes('\0')) errors.push({ path: ['healthcheck', 'exec', i], message: 'healthcheck arguments cannot contain a NUL byte' });
    });
    const d = durations(
      { interval: h.interval, timeout: h.timeout, startPeriod: h.startPeriod },
      { interval: 'intervalMs', timeout: 'timeoutMs', startPeriod: 'startPeriodMs' },
      'healthcheck',
      errors,
    );
    if (d.intervalMs !== undefined && d.intervalMs < 100)
      errors.push({ path: ['healthcheck', 'interval'], message: 'healthcheck.interval must be at least 100ms' });
    if (d.timeoutMs !== undefined && d.timeoutMs < 10)
      errors.push({ path: ['healthcheck', 'timeout'], message: 'healthcheck.timeout must be at least 10ms' });
    healthcheck = {
      ...(h.exec && { exec: [...h.exec] }),
      ...(h.http && {
        http: {
          port: h.http.port,
          path: h.http.path ?? '/',
          ...(h.http.expectStatus !== undefined && { expectStatus: h.http.expectStatus }),
        },
      }),
      ...(h.tcp && { tcp: { port: h.tcp.port } }),
      ...d,
      ...(h.retries !== undefined && { retries: h.retries }),
      ...(h.onUnhealthy !== undefined && { onUnhealthy: h.onUnhealthy }),
    };
  }
  const caps = raw.capabilities ? { add: [...(raw.capabilities.add ?? [])], drop: [...(raw.capabilities.drop ?? [])] } : undefined;
  for (const kind of ['add', 'drop'] as const) {
    (caps?.[kind] ?? []).forEach((c, i) => {
      const n = capabilityName(c);
      if (!n) errors.push({ path: ['capabilities', kind, i], message: `capabilities.${kind}: unknown capability "${c}"` });
      else caps![kind][i] = n;
    });
  }
  const seenDeps = new Set<string>();
  (raw.dependsOn ?? []).forEach((dep, i) => {
    if (dep.name === name) errors.push({ path: ['dependsOn', i, 'name'], message: `dependsOn[${i}]: a container cannot depend on itself` });
    if (seenDeps.has(dep.name)) errors.push({ path: ['dependsOn', i, 'name'], message: `dependsOn[${i}]: ${dep.name} is named twice` });
    seenDeps.add(dep.name);
  });
  let stopGracePeriodMs: number | undefined;
  if (raw.stopGracePeriod !== undefined) {
    const r = parseDuration(raw.stopGracePeriod);
    if ('error' in r) errors.push({ path: ['stopGracePeriod'], message: r.error });
    else stopGracePeriodMs = r.ms;
  }
  const tmpfs = normalizeTmpfs(raw, errors);
  const autoUpdate = raw.autoUpdate ? normalizeAutoUpdate(raw, image, errors) : undefined;
  const userNet = raw.network ? userNetwork(raw.network, errors) : undefined;
  usernsProblems(raw, errors);
  if (errors.length) return { errors };

  const env = raw.env ? Object.fromEntries(Object.entries(raw.env).sort(([a], [b]) => (a < b ? -1 : 1))) : undefined;
  const mounts = raw.mounts?.map((m) => ({
    source: m.source,
    target: m.target,
    ...(m.readOnly ? { readOnly: true } : {}),
    ...(m.idmap === false && { idmap: false }),
  }));
  const volumes = raw.volumes?.map((v) => ({ name: v.name, target: v.target, ...(v.readOnly ? { readOnly: true } : {}) }));
  const user: UserSpec = {
    name,
    ...(raw.hostname !== undefined && { hostname: raw.hostname }),
    image: image!,
    ...(raw.pull !== undefined && raw.pull !== 'missing' && { pull: raw.pull }),
    ...(autoUpdate && { autoUpdate }),
    ...(raw.command !== undefined && { command: [...raw.command] }),
    ...(raw.args !== undefined && { args: [...raw.args] }),
    ...(env && { env }),
    ...(raw.workingDir !== undefined && { workingDir: raw.workingDir }),
    ...(resources && Object.keys(resources).length > 0 && { resources }),
    ...(raw.state !== undefined && raw.state !== 'running' && { state: raw.state }),
    ...(userNet && Object.keys(userNet).length > 0 && { network: userNet }),
    ...(mounts && mounts.length > 0 && { mounts }),
    ...(volumes && volumes.length > 0 && { volumes }),
    ...(tmpfs && tmpfs.length > 0 && { tmpfs }),
    ...fileEntries,
    ...(raw.restart !== undefined && { restart: raw.restart }),
    ...(stopGracePeriodMs !== undefined && { stopGracePeriodMs }),
    ...(stopSignal !== undefined && { stopSignal }),
    ...(Object.keys(backoff).length > 0 && { restartBackoff: backoff }),
    ...(healthcheck && { healthcheck }),
    ...(raw.dependsOn?.length && {
      dependsOn: raw.dependsOn.map((d) => ({
        name: d.name,
        ...(d.condition !== undefined && d.condition !== 'started' && { condition: d.condition }),
        ...(d.restartWith && { restartWith: true }),
      })),
    }),
    ...(raw.privileged !== undefined && { privileged: raw.privileged }),
    ...(caps &&
      (caps.add.length || caps.drop.length) && {
        capabilities: { ...(caps.add.length && { add: caps.add }), ...(caps.drop.length && { drop: caps.drop }) },
      }),
    ...(raw.user !== undefined && { user: raw.user }),
    ...(raw.userns !== undefined && { userns: typeof raw.userns === 'object' ? { size: raw.userns.size } : raw.userns }),
    ...(raw.readOnlyRootfs !== undefined && { readOnlyRootfs: raw.readOnlyRootfs }),
    ...(raw.tty && { tty: true }),
  };
  return { user, spec: effectiveSpec(user) };
}

/** `auto` (DEFAULT_USERNS_SIZE ids) unless the spec says `host` or is privileged. */
function effectiveUserns(user: UserSpec): UsernsSpec {
  if (user.privileged || user.userns === 'host') return { mode: 'host' };
  return { mode: 'auto', size: typeof user.userns === 'object' ? user.userns.size : DEFAULT_USERNS_SIZE };
}

/**
 * What cannot work with the spec's user namespace: a privileged container in one of its own (it
 * would not be privileged over the host), and ids the workload, a file or a secret uses beyond the
 * namespace's size (they would belong to no one inside).
 */
function usernsProblems(raw: RawSpec, errors: PathError[]): void {
  if (raw.privileged && raw.userns !== undefined && raw.userns !== 'host')
    errors.push({
      path: ['userns'],
      message: "a privileged container runs in the host's user namespace: drop userns (or write userns: host), or drop privileged",
    });
  if (raw.privileged || raw.userns === 'host') return;
  const size = typeof raw.userns === 'object' ? raw.userns.size : DEFAULT_USERNS_SIZE;
  const outside = (id: number | undefined): boolean => id !== undefined && id >= size;
  const ids = /^([0-9]+)?(?::([0-9]+))?$/.exec(raw.user ?? '');
  for (const id of [ids?.[1], ids?.[2]])
    if (id !== undefined && outside(Number(id)))
      errors.push({
        path: ['user'],
        message: `user: id ${id} is outside the container's user namespace (ids 0-${size - 1}); ask for more with userns: {size: N}`,
      });
  for (const kind of ['files', 'secrets'] as const)
    (raw[kind] ?? []).forEach((e: { uid?: number; gid?: number }, i: number) => {
      for (const k of ['uid', 'gid'] as const)
        if (outside(e[k]))
          errors.push({
            path: [kind, i, k],
            message: `${kind}[${i}].${k} ${e[k]} is outside the container's user namespace (ids 0-${size - 1})`,
          });
    });
}

/** Fills in every default. */
export function effectiveSpec(user: UserSpec): ContainerSpec {
  return {
    name: user.name,
    hostname: user.hostname ?? user.name,
    layers: 'layers' in user.image ? user.image.layers : [],
    image: null,
    autoUpdate: user.autoUpdate
      ? {
          intervalMs: user.autoUpdate.intervalMs ?? DEFAULTS.autoUpdateIntervalMs,
          rollbackWindowMs: user.autoUpdate.rollbackWindowMs ?? DEFAULTS.rollbackWindowMs,
        }
      : null,
    command: 'layers' in user.image ? [...(user.command ?? []), ...(user.args ?? [])] : [],
    env: user.env ?? {},
    workingDir: user.workingDir ?? DEFAULTS.workingDir,
    resources: { pids: DEFAULTS.pids, ...user.resources },
    state: user.state ?? 'running',
    network: {
      mode: user.network?.mode ?? DEFAULTS.network,
      name: user.network?.name ?? DEFAULT_NETWORK_NAME,
      ports: (user.network?.ports ?? []).map((p) => ({ ...p, protocol: p.protocol ?? 'tcp' })),
      aliases: user.network?.aliases ?? [],
      ingress: effectiveRules(user.network?.ingress),
      egress: effectiveRules(user.network?.egress),
    },
    mounts: (user.mounts ?? []).map((m) => ({ source: m.source, target: m.target, readOnly: m.readOnly ?? false, idmap: m.idmap ?? true })),
    volumes: (user.volumes ?? []).map((v) => ({ name: v.name, target: v.target, readOnly: v.readOnly ?? false })),
    tmpfs: (user.tmpfs ?? []).map((t) => ({ target: t.target, sizeBytes: t.sizeBytes ?? DEFAULTS.tmpfsBytes, mode: t.mode ?? 0o1777 })),
    files: effectiveFiles(user),
    secrets: effectiveSecrets(user),
    restart: user.restart ?? DEFAULTS.restart,
    stopGracePeriodMs: user.stopGracePeriodMs ?? DEFAULTS.stopGracePeriodMs,
    stopSignal: user.stopSignal ?? DEFAULT_STOP_SIGNAL,
    restartBackoff: user.restartBackoff ?? {},
    healthcheck: user.healthcheck ? { ...DEFAULTS.health, ...user.healthcheck } : null,
    dependsOn: (user.dependsOn ?? []).map((d) => ({
      name: d.name,
      condition: d.condition ?? 'started',
      restartWith: d.restartWith ?? false,
    })),
    privileged: user.privileged ?? false,
    capabilities: { add: user.capabilities?.add ?? [], drop: user.capabilities?.drop ?? [] },
    user: user.user ?? null,
    userns: effectiveUserns(user),
    readOnlyRootfs: user.readOnlyRootfs ?? false,
    tty: user.tty ?? false,
  };
}
