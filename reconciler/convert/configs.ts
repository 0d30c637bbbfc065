/**
 * Service `configs` and `secrets`, referring to the top-level ones. Outside a swarm compose
 * bind-mounts a file-based config or secret read-only into the container (`/<name>` and
 * `/run/secrets/<name>` by default); so does the conversion, as `mounts` with `readOnly: true`.
 * Configs and secrets whose value is inline or in an environment variable, or that are external,
 * have no host file to mount: they are reported. A bind mount keeps the host file's owner and mode,
 * so `uid`, `gid` and `mode` are reported when set.
 */
import type { ServiceContext } from './context.js';
import { TOP_LEVEL } from './report.js';
import type { SpecMount } from './types.js';
import { describe, isMap, scalarString, type YamlMap } from './values.js';

interface Reference {
  source: string;
  target?: string;
  field: string;
}

/** The service's references to top-level configs or secrets, checked to exist. */
function references(ctx: ServiceContext, key: 'configs' | 'secrets', defined: Map<string, YamlMap>): Reference[] {
  const raw = ctx.def[key];
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw ctx.invalid([key], `${key} is a list, not ${describe(raw)}`);
  return raw.map((e, i) => {
    const field = `${key}[${i}]`;
    const entry: YamlMap = isMap(e) ? e : { source: e };
    const source = scalarString(entry.source);
    if (source === null) throw ctx.invalid([key, i], `a ${key.slice(0, -1)} is a name or {source, target}, not ${describe(e)}`);
    if (!defined.has(source))
      throw ctx.invalid([key, i], `${key.slice(0, -1)} ${JSON.stringify(source)} is not defined under the top-level "${key}"`);
    for (const k of ['uid', 'gid', 'mode'])
      if (entry[k] !== undefined && entry[k] !== null)
        ctx.lose(`${field}.${k}`, `a bind mount keeps the host file's ${k === 'mode' ? 'mode' : 'owner'}: ${k} is not applied`);
    const target = scalarString(entry.target) ?? undefined;
    return { source, field, ...(target && { target }) };
  });
}

function claim(ctx: ServiceContext, taken: Set<string>, target: string, field: string): boolean {
  if (!taken.has(target)) {
    taken.add(target);
    return true;
  }
  ctx.lose(field, `${target} is mounted already: left out`);
  return false;
}

/** The service's file-based configs as read-only bind mounts. */
export function convertConfigs(ctx: ServiceContext, taken: Set<string>): SpecMount[] {
  return references(ctx, 'configs', ctx.project.configs).flatMap((r) => {
    const def = ctx.project.configs.get(r.source)!;
    const target = r.target ? (r.target.startsWith('/') ? r.target : `/${r.target}`) : `/${r.source}`;
    if (def.template_driver !== undefined)
      ctx.report.lose(TOP_LEVEL, `configs.${r.source}.template_driver`, 'templates are not rendered: the file is mounted as written');
    const file = scalarString(def.file);
    if (file !== null)
      return claim(ctx, taken, target, r.field) ? [{ source: ctx.hostPath(file, ['configs']), target, readOnly: true }] : [];
    const why =
      scalarString(def.content) !== null || scalarString(def.environment) !== null
        ? 'its content is inline or in an environment variable, and pocker has no inline files yet: write it to a file and mount that'
        : def.external === true
          ? 'it is external (it lives in a swarm): write it to a file and mount that'
          : 'it has no file, content or environment';
    ctx.lose(r.field, `config ${r.source}: ${why}: left out`);
    return [];
  });
}

/** The service's file-based secrets as read-only bind mounts at /run/secrets/<name> (or their target). */
export function convertSecrets(ctx: ServiceContext, taken: Set<string>): SpecMount[] {
  return references(ctx, 'secrets', ctx.project.secrets).flatMap((r) => {
    const def = ctx.project.secrets.get(r.source)!;
    const target = r.target ? (r.target.startsWith('/') ? r.target : `/run/secrets/${r.target}`) : `/run/secrets/${r.source}`;
    const file = scalarString(def.file);
    if (file !== null)
      return claim(ctx, taken, target, r.field) ? [{ source: ctx.hostPath(file, ['secrets']), target, readOnly: true }] : [];
    const why =
      scalarString(def.environment) !== null
        ? `its value is the environment variable ${String(def.environment)}, and pocker has no secrets yet: write it to a root-only file and mount that`
        : def.external === true
          ? 'it is external (it lives in a swarm): write it to a root-only file and mount that'
          : 'it has no file or environment';
    ctx.lose(r.field, `secret ${r.source}: ${why}: left out`);
    return [];
  });
}
