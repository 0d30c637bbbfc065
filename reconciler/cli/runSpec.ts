import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './options.js';

/** The flags of `pocker run` that shape the container (what parseArgs gives). */
export interface RunFlags {
  name?: string;
  hostname?: string;
  cpus?: string;
  memory?: string;
  'memory-swap'?: string;
  'cpuset-cpus'?: string;
  'cpu-shares'?: string;
  'pids-limit'?: string;
  'device-read-bps'?: string[];
  'device-write-bps'?: string[];
  'device-read-iops'?: string[];
  'device-write-iops'?: string[];
  network?: string;
  publish?: string[];
  volume?: string[];
  env?: string[];
  workdir?: string;
  user?: string;
  'read-only'?: boolean;
  userns?: string;
  tty?: boolean;
  entrypoint?: string;
}

const DOCKER_UNITS: Record<string, string> = { b: '', k: 'Ki', m: 'Mi', g: 'Gi', t: 'Ti' };

/**
 * A byte size as Docker's flags write it (`50m`, `1g`, `512k`, `10mb`, `1024`: binary units, case
 * insensitive), or as pocker specs do (`50Mi`, `100M`), in spec form.
 */
export function dockerQuantity(flag: string, value: string): string {
  const m = /^([0-9]+(?:\.[0-9]+)?)(?:([kmgt])b?|b)?$/i.exec(value);
  if (m) return `${m[1]}${DOCKER_UNITS[(m[2] ?? 'b').toLowerCase()]}`;
  if (/^[0-9]+(?:\.[0-9]+)?(Ki|Mi|Gi|Ti|K|M|G|T)$/.test(value)) return value;
  throw new UsageError(`${flag} ${value}: not a size (examples: 50m, 1g, 512Mi)`);
}

function number(flag: string, value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n)) throw new UsageError(`${flag} ${value}: not a number`);
  return n;
}

const IO_FLAGS = [
  ['device-read-bps', 'readBps'],
  ['device-write-bps', 'writeBps'],
  ['device-read-iops', 'readIops'],
  ['device-write-iops', 'writeIops'],
] as const;

/** Docker's `--device-{read,write}-{bps,iops} DEVICE:RATE` flags as `resources.io` entries (one per device). */
export function ioLimits(f: RunFlags): Array<Record<string, unknown>> {
  const byDevice = new Map<string, Record<string, unknown>>();
  for (const [flag, key] of IO_FLAGS) {
    for (const v of f[flag] ?? []) {
      const colon = v.lastIndexOf(':');
      if (colon <= 0) throw new UsageError(`--${flag} ${v}: expected DEVICE:RATE`);
      const device = v.slice(0, colon);
      const rate = v.slice(colon + 1);
      const entry = byDevice.get(device) ?? { device };
      entry[key] = key.endsWith('Bps') ? dockerQuantity(`--${flag}`, rate) : number(`--${flag}`, rate);
      byDevice.set(device, entry);
    }
  }
  return [...byDevice.values()];
}

/** `-p [IP:]HOST:CONTAINER[/tcp|udp]` as a spec port. */
export function parsePublish(value: string): Record<string, unknown> {
  const m = /^(?:(\d{1,3}(?:\.\d{1,3}){3}):)?(\d+):(\d+)(?:\/(tcp|udp))?$/.exec(value);
  if (!m) throw new UsageError(`-p ${value}: expected [IP:]HOST:CONTAINER[/tcp|udp]`);
  return { host: Number(m[2]), container: Number(m[3]), ...(m[4] && { protocol: m[4] }), ...(m[1] && { hostIP: m[1] }) };
}

/** `-v SRC:DST[:ro|rw]` as a spec mount (SRC made absolute). */
export function parseVolume(value: string): Record<string, unknown> {
  const parts = value.split(':');
  const [src, dst, mode] = parts;
  if (parts.length < 2 || parts.length > 3 || !src || !dst || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
    throw new UsageError(`-v ${value}: expected SRC:DST or SRC:DST:ro`);
  }
  return { source: resolve(src), target: dst, ...(mode === 'ro' && { readOnly: true }) };
}

/**
 * What the IMAGE argument names: a layer directory (a path starting with "/" or "."), else an image
 * reference (pulled from its registry when the store has it neither under that name nor under its
 * short Docker name, as `image import --name` stores it).
 */
export function imageOf(arg: string): { layers: string[] } | string {
  if (arg.startsWith('/') || arg.startsWith('.')) {
    const dir = resolve(arg);
    if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${arg}: no such layer directory`);
    return { layers: [dir] };
  }
  return arg;
}

/**
 * The spec `pocker run` builds from its flags (checked afterwards like any spec file). Docker's
 * meanings: on an image, COMMAND... replaces the image's Cmd (the spec's args) and --entrypoint its
 * Entrypoint (the spec's command, which drops the Cmd too); on a layer directory COMMAND is the
 * whole argv. --memory-swap is memory + swap (-1: unlimited swap) and needs --memory; without it
 * the container gets no swap (pocker's default, unlike Docker's "as much swap as memory").
 */
export function runSpec(name: string, image: { layers: string[] } | string, command: string[], f: RunFlags): Record<string, unknown> {
  const argv =
    typeof image === 'string'
      ? { ...(f.entrypoint !== undefined && { command: [f.entrypoint] }), ...(command.length && { args: command }) }
      : { command: [...(f.entrypoint !== undefined ? [f.entrypoint] : []), ...command] };
  const resources: Record<string, unknown> = {};
  if (f.cpus !== undefined) resources.cpus = number('--cpus', f.cpus);
  if (f.memory !== undefined) resources.memory = dockerQuantity('--memory', f.memory);
  if (f['memory-swap'] !== undefined && f['memory-swap'] !== '0') {
    if (f.memory === undefined) throw new UsageError('--memory-swap needs --memory (memory-swap is memory + swap)');
    resources.memsw = f['memory-swap'] === '-1' ? 'unlimited' : dockerQuantity('--memory-swap', f['memory-swap']);
  }
  if (f['cpuset-cpus'] !== undefined) resources.cpuset = f['cpuset-cpus'];
  if (f['cpu-shares'] !== undefined) resources.cpuShares = number('--cpu-shares', f['cpu-shares']);
  if (f['pids-limit'] !== undefined) resources.pids = number('--pids-limit', f['pids-limit']);
  const io = ioLimits(f);
  if (io.length) resources.io = io;
  const env: Record<string, string> = {};
  for (const kv of f.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`-e ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  const net = f.network ?? 'none';
  const network = net === 'none' || net === 'host' || net === 'bridge' ? { mode: net } : { mode: 'bridge', name: net };
  if (f.publish?.length) {
    if (network.mode !== 'bridge') throw new UsageError('-p needs --network bridge (or a CNI network name)');
    Object.assign(network, { ports: f.publish.map(parsePublish) });
  }
  return {
    name,
    ...(f.hostname !== undefined && { hostname: f.hostname }),
    image,
    ...argv,
    ...(Object.keys(env).length && { env }),
    ...(f.workdir !== undefined && { workingDir: f.workdir }),
    ...(Object.keys(resources).length && { resources }),
    network,
    ...(f.volume?.length && { mounts: f.volume.map(parseVolume) }),
    restart: 'never',
    ...(f.user !== undefined && { user: f.user }),
    ...(f['read-only'] && { readOnlyRootfs: true }),
    ...(f.userns !== undefined && { userns: f.userns }),
    ...(f.tty && { tty: true }),
  };
}
