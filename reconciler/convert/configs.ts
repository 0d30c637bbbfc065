/**
 * Service `configs` and `secrets`, referring to the top-level ones, as the spec's `files` and
 * `secrets`.
 *
 * A config becomes a `files` entry at its target (`/<config key>` by default): a `file:` one with
 * that host file as `source` (pocker reads it at each pass; a note says what the file must be), a
 * `content:` one (interpolated like the rest of the compose file) with it as `content`, an
 * `environment:` one with the variable's value (the project environment's: the process's, then
 * `.env`) as `content`; the variable unset, it is reported and left out. External configs and
 * template drivers are reported.
 *
 * A secret (`file:`, `environment:` or external) becomes a `secrets` entry: pocker reads the value
 * from its secrets dir (`<secrets-dir>/NAME`) and mounts it at the target (`/run/secrets/<secret
 * key>` by default). NAME is the compose secret's name (`name:`, else its key), derived into one
 * pocker takes when it is none (reported). Putting the value there is the operator's to-do, not a
 * loss: a note per secret says how (an install command for a file, where to write an environment
 * variable's or an external secret's value). No secret's value is ever read, so none reaches a
 * spec or a message.
 *
 * The long syntax's `uid` and `gid` are carried; `mode` too, and without it compose's default
 * `0444` is written out (pocker's own defaults are 0644 for files and 0400 for secrets: a non-root
 * workload could not read a secret compose lets it read). A target claimed twice, one pocker
 * cannot mount over, one inside a mount, volume or tmpfs of the service (pocker refuses a file
 * there: its mount point would be made in that mount's source), one below another file, or one
 * with a mount or file below it is reported and left out.
 */
import { MAX_CONTENT_BYTES, defaultSecretTarget } from '../spec/files.js';
import { mountTargetProblem } from '../spec/paths.js';
import type { ServiceContext } from './context.js';
import type { Project } from './project.js';
import { TOP_LEVEL } from './report.js';
import type { SpecFile, SpecSecret } from './types.js';
import { octalMode } from './units.js';
import { describe, isMap, scalarString, type YamlMap } from './values.js';

/**
 * Where pocker reads secrets unless --secrets-dir or the instance config names another: the
 * DEFAULT_SECRETS_DIR of state/layout.ts, which convert (on the same floor) does not import.
 */
export const SECRETS_DIR = '/etc/pocker/secrets';

/** The mode compose gives a config or secret whose reference names none: world-readable. */
export const COMPOSE_DEFAULT_MODE = '0444';

/** The schema's limits: files and secrets of one spec. */
const MAX_FILES = 256;
const MAX_SECRETS = 64;
const MAX_ID = 4294967294;
/** The schema's pattern of a secret name (its file name in the secrets dir). */
const SECRET_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** A service's reference to a top-level config or secret: its key, where it is written, its target and the entry itself. */
interface Reference {
  source: string;
  field: string;
  target?: string;
  entry: YamlMap;
}

/** The mode, uid and gid of the file a reference puts into the container. */
interface Settings {
  mode: string;
  uid?: number;
  gid?: number;
}

/** A `uid` or `gid` of the long syntax (compose writes them as strings: "103"); undefined (reported when written) when it is no id. */
function owner(ctx: ServiceContext, entry: YamlMap, key: 'uid' | 'gid', field: string): number | undefined {
  const v = entry[key];
  if (v === undefined || v === null) return undefined;
  const s = scalarString(v)?.trim();
  if (s !== undefined && /^[0-9]{1,10}$/.test(s) && Number(s) <= MAX_ID) return Number(s);
  ctx.lose(`${field}.${key}`, `${describe(v)} is not a numeric ${key} (0 to ${MAX_ID}): root's (0) is used`);
  return undefined;
}

/** The long syntax's `mode` in the schema's form ("0440"): YAML octal (`0440`, `0o440`) or an octal string; compose's default without one. */
function mode(ctx: ServiceContext, entry: YamlMap, field: string): string {
  const v = entry.mode;
  if (v === undefined || v === null) return COMPOSE_DEFAULT_MODE;
  const m = octalMode(typeof v === 'string' ? v.trim().replace(/^0o/i, '') : v);
  if (m !== null) return m;
  const shown = typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? `0${v.toString(8)}` : describe(v);
  ctx.lose(
    `${field}.mode`,
    `${shown} is not a file mode (octal permission bits, at most 0777): compose's default ${COMPOSE_DEFAULT_MODE} is used`,
  );
  return COMPOSE_DEFAULT_MODE;
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
    const target = scalarString(entry.target) || undefined;
    return { source, field, entry, ...(target !== undefined && { target }) };
  });
}

/** The long syntax's mode (compose's default without one), uid and gid, in the order the spec writes them; what is not one reported. */
function settings(ctx: ServiceContext, r: Reference): Settings {
  const m = mode(ctx, r.entry, r.field);
  const uid = owner(ctx, r.entry, 'uid', r.field);
  const gid = owner(ctx, r.entry, 'gid', r.field);
  return { mode: m, ...(uid !== undefined && { uid }), ...(gid !== undefined && { gid }) };
}

/**
 * The targets of one service: those of its mounts, volumes and tmpfs, and those its files and
 * secrets claim. A file or secret gets a target nothing holds and that pocker can mount over; not
 * one inside a mount (pocker refuses that; see checkTargets of spec/files.ts) or below another file,
 * nor one with a mount or file below it (it would have to be a directory).
 */
class Targets {
  private readonly taken: Set<string>;

  constructor(private readonly mounted: ReadonlySet<string>) {
    this.taken = new Set(mounted);
  }

  claim(ctx: ServiceContext, target: string, field: string, what: string): boolean {
    const problem = mountTargetProblem(target);
    const below = (outer: string): boolean => target.startsWith(`${outer}/`);
    const mount = [...this.mounted].find(below);
    const file = [...this.taken].find(below);
    const inner = [...this.taken].find((t) => t.startsWith(`${target}/`));
    let why: string;
    if (problem) why = `target ${target}: ${problem}`;
    else if (this.taken.has(target)) why = `${target} is mounted already`;
    else if (mount !== undefined)
      why = `${target} lies inside the mount at ${mount}, and pocker puts no file inside another mount (its mount point would be made in that mount's source)`;
    else if (file !== undefined) why = `${target} lies below ${file}, which is a file of the container`;
    else if (inner !== undefined) why = `${target} would be a file, and ${inner} is mounted below it`;
    else {
      this.taken.add(target);
      return true;
    }
    ctx.lose(field, `${what}: ${why}: left out`);
    return false;
  }
}

/** Inline text as a file's content, unless it is more than pocker takes (reported). */
function sized(ctx: ServiceContext, field: string, what: string, text: string): { content: string } | null {
  const bytes = Buffer.byteLength(text);
  if (bytes <= MAX_CONTENT_BYTES) return { content: text };
  ctx.lose(field, `${what}: its content is ${bytes} bytes, more than the ${MAX_CONTENT_BYTES} pocker takes for a file: left out`);
  return null;
}

/** Where a config's content comes from: a host file, or inline text (its own, or an environment variable's); null when reported. */
function configBody(ctx: ServiceContext, r: Reference, def: YamlMap): { source: string } | { content: string } | null {
  const what = `config ${r.source}`;
  const file = scalarString(def.file);
  if (file !== null) return { source: ctx.hostPath(file, ['configs']) };
  const content = scalarString(def.content);
  if (content !== null) return sized(ctx, r.field, what, content);
  const variable = scalarString(def.environment);
  if (variable !== null) {
    const value = ctx.project.lookup(variable);
    if (value !== undefined) return sized(ctx, r.field, what, value);
    ctx.lose(r.field, `${what}: its content is the environment variable ${variable}, which is not set: left out`);
    return null;
  }
  const why =
    def.external === true || isMap(def.external)
      ? 'it is external (it lives in a swarm): put its content in a file, or inline, as a files entry of the spec'
      : 'it has no file, content or environment';
  ctx.lose(r.field, `${what}: ${why}: left out`);
  return null;
}

function convertConfigs(ctx: ServiceContext, targets: Targets): SpecFile[] {
  const out: SpecFile[] = [];
  for (const r of references(ctx, 'configs', ctx.project.configs)) {
    const def = ctx.project.configs.get(r.source)!;
    const what = `config ${r.source}`;
    const target = r.target ? (r.target.startsWith('/') ? r.target : `/${r.target}`) : `/${r.source}`;
    if (def.template_driver !== undefined)
      ctx.report.lose(TOP_LEVEL, `configs.${r.source}.template_driver`, 'templates are not rendered: the content is used as written');
    const body = configBody(ctx, r, def);
    if (body === null) continue;
    if (out.length === MAX_FILES) {
      ctx.lose(r.field, `${what}: a spec has at most ${MAX_FILES} files: left out`);
      continue;
    }
    if (!targets.claim(ctx, target, r.field, what)) continue;
    if ('source' in body)
      ctx.report.note(
        TOP_LEVEL,
        `configs.${r.source}`,
        `pocker reads ${body.source} at every pass: a regular file of at most 1 MiB, owned by root (or a --trusted-owner) and writable by nobody else, as spec files are`,
      );
    out.push({ target, ...body, ...settings(ctx, r) });
  }
  return out;
}

/** The name compose knows a secret by: its `name:` (or an external one's legacy `external.name`), else its key; and the field naming it. */
function composeSecretName(key: string, def: YamlMap): { name: string; field: string } {
  const written = scalarString(def.name);
  if (written) return { name: written, field: `secrets.${key}.name` };
  const legacy = isMap(def.external) ? scalarString(def.external.name) : null;
  if (legacy) return { name: legacy, field: `secrets.${key}.external.name` };
  return { name: key, field: `secrets.${key}` };
}

const secretNames = new WeakMap<Project, Map<string, string>>();

/**
 * Pocker's name of each compose secret name of the project: itself when pocker takes it, else one
 * derived from it (other characters `_`, a letter or digit first, at most 63), distinct from every
 * other so that two compose secrets never share a file of the secrets dir.
 */
function pockerSecretNames(project: Project): Map<string, string> {
  const known = secretNames.get(project);
  if (known) return known;
  const names = [...new Set([...project.secrets].map(([k, d]) => composeSecretName(k, d).name))];
  const used = new Set(names.filter((n) => SECRET_NAME.test(n)));
  const out = new Map<string, string>();
  for (const n of names) {
    if (SECRET_NAME.test(n)) {
      out.set(n, n);
      continue;
    }
    const base =
      n
        .replace(/[^a-zA-Z0-9_.-]/g, '_')
        .replace(/^[^a-zA-Z0-9]+/, '')
        .slice(0, 63) || 'secret';
    let name = base;
    for (let i = 2; used.has(name); i++) name = `${base.slice(0, 60)}-${i}`;
    used.add(name);
    out.set(n, name);
  }
  secretNames.set(project, out);
  return out;
}

/** A word as the shell reads it: as it is when it has nothing special, else single-quoted. */
function shellWord(s: string): string {
  return /^[A-Za-z0-9_./:@%+=,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** What the operator does for pocker to find a secret's value (never the value itself); null when the secret has no source. */
function secretStep(ctx: ServiceContext, def: YamlMap, name: string): string | null {
  const dest = `${SECRETS_DIR}/${name}`;
  const where = `pocker reads its value from ${dest} (the default secrets dir; --secrets-dir or the instance config can name another)`;
  const file = scalarString(def.file);
  if (file !== null) return `${where}: as root, install -D -m 0400 -o root -g root ${shellWord(ctx.hostPath(file, ['secrets']))} ${dest}`;
  const variable = scalarString(def.environment);
  if (variable !== null) {
    const how = /^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)
      ? ` (as root, with ${variable} set: umask 077; mkdir -p ${SECRETS_DIR}; printf %s "$${variable}" > ${dest})`
      : '';
    return `${where}: write the value of the variable ${variable} (the environment's, else .env's, as compose takes it) there, owned by root, mode 0400${how}`;
  }
  if (def.external === true || isMap(def.external))
    return `${where}: it is external (it lives in a swarm): put its value there, owned by root, mode 0400`;
  return null;
}

function convertSecrets(ctx: ServiceContext, targets: Targets): SpecSecret[] {
  const names = pockerSecretNames(ctx.project);
  const given = new Map<string, string>();
  const out: SpecSecret[] = [];
  for (const r of references(ctx, 'secrets', ctx.project.secrets)) {
    const def = ctx.project.secrets.get(r.source)!;
    const what = `secret ${r.source}`;
    const composeName = composeSecretName(r.source, def);
    const name = names.get(composeName.name)!;
    const step = secretStep(ctx, def, name);
    if (step === null) {
      ctx.lose(r.field, `${what}: it has no file, environment or external: left out`);
      continue;
    }
    const target = r.target ? (r.target.startsWith('/') ? r.target : `/run/secrets/${r.target}`) : `/run/secrets/${r.source}`;
    const twice = given.get(name);
    if (twice !== undefined) {
      ctx.lose(
        r.field,
        `${what}: ${twice} gives the container secret ${name} already, and pocker gives a secret once per container: left out`,
      );
      continue;
    }
    if (out.length === MAX_SECRETS) {
      ctx.lose(r.field, `${what}: a spec has at most ${MAX_SECRETS} secrets: left out`);
      continue;
    }
    if (!targets.claim(ctx, target, r.field, what)) continue;
    given.set(name, r.field);
    if (name !== composeName.name)
      ctx.report.lose(
        TOP_LEVEL,
        composeName.field,
        `${JSON.stringify(composeName.name)} is not a pocker secret name (letters, digits, "_", ".", "-", a letter or digit first; at most 63): it is ${name} in pocker's secrets dir`,
      );
    ctx.report.note(TOP_LEVEL, `secrets.${r.source}`, step);
    out.push({ name, ...(target !== defaultSecretTarget(name) && { target }), ...settings(ctx, r) });
  }
  return out;
}

/** The service's configs as `files` and its secrets as `secrets`; `mounted` holds the targets of its mounts, volumes and tmpfs. */
export function convertConfigsAndSecrets(ctx: ServiceContext, mounted: ReadonlySet<string>): { files: SpecFile[]; secrets: SpecSecret[] } {
  const targets = new Targets(mounted);
  return { files: convertConfigs(ctx, targets), secrets: convertSecrets(ctx, targets) };
}
