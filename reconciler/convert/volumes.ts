/**
 * `volumes` and `tmpfs` → `volumes` (named volumes, by the name compose creates them under),
 * `mounts` (binds, host paths made absolute) and `tmpfs`. Short syntax as compose parses it
 * (`SOURCE:TARGET[:OPTIONS]`; a source starting with `.`, `/` or `~` is a host path), long syntax
 * `{type, source, target, read_only, bind, volume, tmpfs}`.
 */
import { resolve } from 'node:path';
import { mountTargetProblem } from '../spec/paths.js';
import type { ServiceContext } from './context.js';
import type { Resource } from './project.js';
import { TOP_LEVEL } from './report.js';
import { octalMode, parseComposeBytes, quantity } from './units.js';
import type { SpecMount, SpecTmpfs, SpecVolume } from './types.js';
import { describe, isMap, scalarString, type YamlMap } from './values.js';

/** What a service mounts, in the spec's three lists. */
export interface Mounts {
  volumes: SpecVolume[];
  mounts: SpecMount[];
  tmpfs: SpecTmpfs[];
}

const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const PROPAGATION = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);

/** A long-syntax volume entry as compose's short syntax means it. */
function parseShort(text: string): YamlMap | { error: string } {
  const parts = text.split(':');
  if (parts.some((p) => p === '')) return { error: `${JSON.stringify(text)} has an empty part between ":"` };
  if (parts.length > 3) return { error: `${JSON.stringify(text)} has too many ":"` };
  if (parts.length === 1) return { type: 'volume', target: text };
  const [source, target, options = ''] = parts as [string, string, string?];
  const opts = options.split(',').filter(Boolean);
  const bind = /^[./~]/.test(source);
  const out: YamlMap = { type: bind ? 'bind' : 'volume', source, target, read_only: opts.includes('ro') && !opts.includes('rw') };
  const propagation = opts.find((o) => PROPAGATION.has(o));
  const selinux = opts.find((o) => o === 'z' || o === 'Z');
  if (bind) out.bind = { create_host_path: true, ...(propagation && { propagation }), ...(selinux && { selinux }) };
  return out;
}

function longVolume(ctx: ServiceContext, v: YamlMap, field: string, path: Array<string | number>, out: Mounts): void {
  const type = scalarString(v.type) ?? 'volume';
  const target = scalarString(v.target);
  if (!target) throw ctx.invalid(path, 'a volume needs a target');
  if (!target.startsWith('/')) throw ctx.invalid(path, `target ${JSON.stringify(target)} is not an absolute path`);
  const readOnly = v.read_only === true;
  const source = v.source === undefined || v.source === null ? '' : scalarString(v.source);
  if (source === null) throw ctx.invalid(path, `source ${describe(v.source)} is not a name or a path`);
  if (type === 'tmpfs') {
    out.tmpfs.push(tmpfsEntry(ctx, field, target, isMap(v.tmpfs) ? v.tmpfs : {}));
    return;
  }
  if (type === 'volume') {
    if (!source) {
      ctx.lose(
        field,
        `anonymous volume at ${target}: pocker has named volumes only; its data stays in the container's writable layer (kept across restarts, lost when the container is recreated)`,
      );
      return;
    }
    const vol = ctx.project.volumes.get(source);
    if (!vol) throw ctx.invalid(path, `volume ${JSON.stringify(source)} is not defined under the top-level "volumes"`);
    const device = localBindDevice(ctx, vol);
    if (device) {
      out.mounts.push({ source: device, target, ...(readOnly && { readOnly }) });
      return;
    }
    if (isMap(v.volume) && v.volume.subpath !== undefined) {
      ctx.lose(`${field}.volume.subpath`, `pocker mounts a whole volume: ${vol.name} at ${target} left out`);
      return;
    }
    if (!VOLUME_NAME.test(vol.name)) {
      ctx.lose(
        field,
        `volume name ${JSON.stringify(vol.name)} is not a pocker volume name (letters, digits, "_", ".", "-"; at most 63): left out`,
      );
      return;
    }
    out.volumes.push({ name: vol.name, target, ...(readOnly && { readOnly }) });
    return;
  }
  if (type === 'bind') {
    if (!source) throw ctx.invalid(path, 'a bind mount needs a source');
    const bind = isMap(v.bind) ? v.bind : {};
    if (bind.propagation !== undefined && bind.propagation !== 'rprivate')
      ctx.lose(`${field}.bind.propagation`, `${describe(bind.propagation)} is not supported: pocker's binds are private`);
    if (bind.selinux !== undefined) ctx.lose(`${field}.bind.selinux`, 'pocker does not relabel bind mounts for SELinux');
    const abs = ctx.hostPath(source, path);
    if (bind.create_host_path === true && abs !== '/')
      ctx.note(field, `${abs} must exist on the host before the container starts (compose would create it; pocker creates no bind source)`);
    out.mounts.push({ source: abs, target, ...(readOnly && { readOnly }) });
    return;
  }
  ctx.lose(field, `a volume of type ${JSON.stringify(type)} is not supported by pocker: left out`);
}

/**
 * The host dir of a volume of the local driver with `driver_opts: {type: none, o: bind, device:
 * DIR}` (a bind mount in disguise), else null; what else a volume definition asks is reported
 * once: pocker volumes are plain directories under `<data-dir>/volumes`.
 */
function localBindDevice(ctx: ServiceContext, vol: Resource): string | null {
  const at = `volumes.${vol.key}`;
  const driver = scalarString(vol.def.driver) ?? 'local';
  const opts = isMap(vol.def.driver_opts) ? vol.def.driver_opts : null;
  if (vol.def.labels !== undefined && vol.def.labels !== null) ctx.report.lose(TOP_LEVEL, `${at}.labels`, 'pocker volumes have no labels');
  if (driver !== 'local') {
    ctx.report.lose(TOP_LEVEL, `${at}.driver`, `driver ${driver} is not supported: the volume is a directory under <data-dir>/volumes`);
    return null;
  }
  if (!opts) return null;
  const device = scalarString(opts.device);
  const o = (scalarString(opts.o) ?? '').split(',');
  if (o.includes('bind') && device?.startsWith('/') && Object.keys(opts).every((k) => ['type', 'o', 'device'].includes(k))) {
    ctx.report.note(TOP_LEVEL, at, `a bind of ${device} (driver_opts): mounted from there; it must exist on the host`);
    return resolve(device);
  }
  ctx.report.lose(
    TOP_LEVEL,
    `${at}.driver_opts`,
    'not applied: the volume is a directory under <data-dir>/volumes (an NFS or other mount is not made)',
  );
  return null;
}

/** A tmpfs entry from compose's `{size, mode}`; without a size pocker's default applies (compose's is the kernel's: half of RAM). */
function tmpfsEntry(ctx: ServiceContext, field: string, target: string, opts: YamlMap): SpecTmpfs {
  const out: SpecTmpfs = { target };
  if (opts.size !== undefined && opts.size !== null) {
    const r = parseComposeBytes(opts.size);
    if ('error' in r) ctx.lose(`${field}.size`, `${r.error}: pocker's default (64Mi) applies`);
    else if (r.bytes === 0) ctx.lose(`${field}.size`, "size 0 means the kernel's default (half of RAM): pocker's default (64Mi) applies");
    else if (r.bytes < 4096) ctx.lose(`${field}.size`, `${describe(opts.size)} is below one page (4096 bytes): 4096 is used`);
    else out.size = quantity(r.bytes);
    if (!('error' in r) && r.bytes > 0 && r.bytes < 4096) out.size = 4096;
  } else ctx.note(field, `tmpfs ${target} has no size: the kernel's default would be half of RAM, pocker's is 64Mi`);
  if (opts.mode !== undefined && opts.mode !== null) {
    const m = octalMode(opts.mode, true);
    if (m === null) ctx.lose(`${field}.mode`, `${describe(opts.mode)} is not a mode: the default 1777 applies`);
    else out.mode = m;
  }
  return out;
}

/** The service `tmpfs:` key: a path or a list of paths, each with Docker's `:size=...,mode=...` options. */
function serviceTmpfs(ctx: ServiceContext, out: Mounts): void {
  const raw = ctx.def.tmpfs;
  if (raw === undefined || raw === null) return;
  const list = Array.isArray(raw) ? raw : [raw];
  list.forEach((e, i) => {
    const field = Array.isArray(raw) ? `tmpfs[${i}]` : 'tmpfs';
    const s = scalarString(e);
    if (s === null) throw ctx.invalid(Array.isArray(raw) ? ['tmpfs', i] : ['tmpfs'], `a tmpfs is a path, not ${describe(e)}`);
    const [target, options = ''] = s.split(/:(.*)/s) as [string, string?];
    if (!target.startsWith('/')) throw ctx.invalid(['tmpfs'], `tmpfs ${JSON.stringify(target)} is not an absolute path`);
    const opts: YamlMap = {};
    for (const o of options.split(',').filter(Boolean)) {
      const [k, v] = o.split('=', 2) as [string, string?];
      if (k === 'size' && v !== undefined) opts.size = v;
      else if (k === 'mode' && v !== undefined) opts.mode = v;
      else if (k !== 'rw') ctx.lose(field, `tmpfs option ${JSON.stringify(o)} is not supported: ignored`);
    }
    out.tmpfs.push(tmpfsEntry(ctx, field, target, opts));
  });
}

/** Keeps the first mount of each target (compose refuses two; pocker does too) and drops what pocker cannot mount over. */
function checkTargets(ctx: ServiceContext, m: Mounts, taken: Set<string>): Mounts {
  const keep = <T extends { target: string }>(list: T[], what: string): T[] =>
    list.filter((e) => {
      const problem = mountTargetProblem(e.target);
      if (problem) ctx.lose('volumes', `${what} at ${e.target}: ${problem}: left out`);
      else if (taken.has(e.target)) ctx.lose('volumes', `${what} at ${e.target}: the target is mounted already: left out`);
      else {
        taken.add(e.target);
        return true;
      }
      return false;
    });
  return { mounts: keep(m.mounts, 'bind mount'), volumes: keep(m.volumes, 'volume'), tmpfs: keep(m.tmpfs, 'tmpfs') };
}

/** The service's volumes, bind mounts and tmpfs mounts; `taken` collects their targets. */
export function convertVolumes(ctx: ServiceContext, taken: Set<string>): Mounts {
  const out: Mounts = { volumes: [], mounts: [], tmpfs: [] };
  const raw = ctx.def.volumes;
  if (raw !== undefined && raw !== null) {
    if (!Array.isArray(raw)) throw ctx.invalid(['volumes'], `volumes is a list, not ${describe(raw)}`);
    raw.forEach((e, i) => {
      const field = `volumes[${i}]`;
      const text = scalarString(e);
      const v = text !== null ? parseShort(text) : isMap(e) ? e : { error: `a volume is a string or a mapping, not ${describe(e)}` };
      if ('error' in v) throw ctx.invalid(['volumes', i], String(v.error));
      longVolume(ctx, v, field, ['volumes', i], out);
    });
  }
  serviceTmpfs(ctx, out);
  return checkTargets(ctx, out, taken);
}
