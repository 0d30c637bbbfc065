/** `env_file` and `environment` → `env`: env files in order, then `environment` over them, values as compose stringifies them. */
import type { ServiceContext } from './context.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import { ConvertError } from './errors.js';
import { describe, isMap, scalarString } from './values.js';

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VALUE = 131072;

/** One env_file entry: its path and whether a missing file is an error (compose's default: it is). */
function envFiles(ctx: ServiceContext): Array<{ path: string; required: boolean; at: number | null }> {
  const raw = ctx.def.env_file;
  if (raw === undefined || raw === null) return [];
  const list = Array.isArray(raw) ? raw : [raw];
  return list.flatMap((e, i) => {
    const at = Array.isArray(raw) ? i : null;
    const path = at === null ? ['env_file'] : ['env_file', at];
    if (typeof e === 'string') return [{ path: ctx.hostPath(e, path), required: true, at }];
    if (isMap(e) && typeof e.path === 'string') {
      if (e.format !== undefined && e.format !== null)
        ctx.lose(`env_file[${i}].format`, `format ${describe(e.format)} is not read: the file is read as a .env file`);
      return [{ path: ctx.hostPath(e.path, path), required: e.required !== false, at }];
    }
    throw ctx.invalid(path, `an env_file entry is a path or {path, required}, not ${describe(e)}`);
  });
}

function setChecked(ctx: ServiceContext, env: Map<string, string>, key: string, value: string, field: string): void {
  if (!ENV_NAME.test(key) || key.length > 256) {
    ctx.lose(
      field,
      `${JSON.stringify(key)} is not an environment variable name pocker takes (letters, digits, "_"; not starting with a digit): left out`,
    );
    env.delete(key);
  } else if (value.length > MAX_VALUE || value.includes('\0')) {
    ctx.lose(field, `the value of ${key} is longer than ${MAX_VALUE} characters or holds a NUL byte: left out`);
    env.delete(key);
  } else env.set(key, value);
}

/** A variable written without a value: the project environment's, else compose leaves it out, and so does the spec (reported). */
function inherit(ctx: ServiceContext, env: Map<string, string>, key: string, field: string): void {
  const v = ctx.project.lookup(key);
  if (v === undefined) {
    env.delete(key);
    ctx.lose(field, `${key} has no value here and is not set in the environment (nor in .env): left out, as compose does`);
  } else setChecked(ctx, env, key, v, field);
}

function readEnvFiles(ctx: ServiceContext, env: Map<string, string>): void {
  for (const f of envFiles(ctx)) {
    const text = ctx.files.readText(f.path);
    if (text === null) {
      if (f.required) throw ctx.invalid(f.at === null ? ['env_file'] : ['env_file', f.at], `env file ${f.path} not found`);
      continue;
    }
    let vars: Map<string, string>;
    try {
      vars = parseDotenv(text, ctx.project.lookup, (name) =>
        ctx.note('env_file', `variable ${name} (in ${f.path}) is not set: a blank string is used, as compose does`),
      );
    } catch (e) {
      if (e instanceof DotenvError)
        throw ConvertError.at('INVALID', f.path, e.message.replace(/^line \d+: /, ''), { line: e.line, col: 1 });
      throw e;
    }
    for (const [k, v] of vars) setChecked(ctx, env, k, v, 'env_file');
  }
}

function readEnvironment(ctx: ServiceContext, env: Map<string, string>): void {
  const raw = ctx.def.environment;
  if (raw === undefined || raw === null) return;
  if (Array.isArray(raw)) {
    raw.forEach((e, i) => {
      const s = scalarString(e);
      if (s === null) throw ctx.invalid(['environment', i], `an environment entry is KEY=VALUE or KEY, not ${describe(e)}`);
      const eq = s.indexOf('=');
      if (eq < 0) inherit(ctx, env, s, `environment.${s}`);
      else setChecked(ctx, env, s.slice(0, eq), s.slice(eq + 1), `environment.${s.slice(0, eq)}`);
    });
    return;
  }
  if (!isMap(raw)) throw ctx.invalid(['environment'], `environment is a list of KEY=VALUE or a mapping, not ${describe(raw)}`);
  for (const [k, v] of Object.entries(raw)) {
    if (v === null) {
      inherit(ctx, env, k, `environment.${k}`);
      continue;
    }
    const s = scalarString(v);
    if (s === null) throw ctx.invalid(['environment', k], `the value of ${k} must be a string, number or boolean, not ${describe(v)}`);
    setChecked(ctx, env, k, s, `environment.${k}`);
  }
}

/** The service's environment as the container sees it from compose (the image's own Env aside), or undefined when empty. */
export function convertEnvironment(ctx: ServiceContext): Record<string, string> | undefined {
  const env = new Map<string, string>();
  readEnvFiles(ctx, env);
  readEnvironment(ctx, env);
  return env.size ? Object.fromEntries(env) : undefined;
}
