/** The compose project: its name, its environment, and its top-level networks, volumes, configs and secrets by the names compose gives them. */
import { basename, dirname, join } from 'node:path';
import { ConvertError } from './errors.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import type { Lookup } from './interpolate.js';
import type { ComposeDocument } from './load.js';
import { TOP_LEVEL, type Report } from './report.js';
import type { ComposeFiles } from './files.js';
import type { Environment } from './types.js';
import { entries, isMap, scalarString, type YamlMap } from './values.js';

/** A top-level network or volume: the name compose creates it under, and its definition. */
export interface Resource {
  key: string;
  /** `name:` as written, else the key for an external one, else `<project>_<key>`. */
  name: string;
  external: boolean;
  def: YamlMap;
}

/** What every service of the file shares. */
export interface Project {
  /** The project name, normalized as compose does (lowercase letters, digits, `_` and `-`). */
  name: string;
  /** The compose file's dir: relative paths are taken from here. */
  dir: string;
  file: string;
  /** The project environment: the process's variables over those of `.env`. */
  lookup: Lookup;
  networks: Map<string, Resource>;
  volumes: Map<string, Resource>;
  configs: Map<string, YamlMap>;
  secrets: Map<string, YamlMap>;
}

/** Compose's project name normalization: lowercase, only [a-z0-9_-], not starting with `_` or `-`. */
export function normalizeProjectName(s: string): string {
  return (s.toLowerCase().match(/[a-z0-9_-]/g) ?? []).join('').replace(/^[_-]+/, '');
}

/** The variables of the `.env` file next to the compose file (none when there is none), read with the process's variables. */
export function readDotenv(composePath: string, env: Environment, files: ComposeFiles, report: Report): Map<string, string> {
  const path = join(dirname(composePath), '.env');
  const text = files.readText(path);
  if (text === null) return new Map();
  try {
    return parseDotenv(
      text,
      (k) => env[k],
      (name) => report.note(TOP_LEVEL, '.env', `variable ${name} is not set: a blank string is used, as compose does`),
    );
  } catch (e) {
    if (e instanceof DotenvError) throw ConvertError.at('INVALID', path, e.message.replace(/^line \d+: /, ''), { line: e.line, col: 1 });
    throw e;
  }
}

/** The project name: COMPOSE_PROJECT_NAME, else the top-level `name:`, else the compose file's dir name (compose's order). */
function projectName(doc: ComposeDocument, lookup: Lookup, report: Report): string {
  const fromEnv = lookup('COMPOSE_PROJECT_NAME');
  const written = scalarString(doc.value.name);
  const [raw, field] = fromEnv ? [fromEnv, 'COMPOSE_PROJECT_NAME'] : written ? [written, 'name'] : [basename(dirname(doc.file)), ''];
  const name = normalizeProjectName(raw);
  if (!name) throw ConvertError.at('INVALID', doc.file, `project name ${JSON.stringify(raw)} has no letter or digit`, doc.at(['name']));
  if (field && name !== raw)
    report.lose(
      TOP_LEVEL,
      field,
      `project name ${JSON.stringify(raw)} is not a compose project name (lowercase letters, digits, "_", "-"): used as "${name}"`,
    );
  return name;
}

function section(doc: ComposeDocument, key: string): Array<[string, YamlMap]> {
  const v = doc.value[key];
  if (v === undefined || v === null) return [];
  if (!isMap(v)) throw ConvertError.at('INVALID', doc.file, `top-level "${key}" must be a mapping`, doc.at([key]));
  return entries(v).map(([k, d]) => {
    if (d !== null && !isMap(d)) throw ConvertError.at('INVALID', doc.file, `${key}.${k} must be a mapping`, doc.at([key, k]));
    return [k, d ?? {}];
  });
}

function resources(doc: ComposeDocument, key: 'networks' | 'volumes', project: string): Map<string, Resource> {
  const out = new Map<string, Resource>();
  for (const [k, def] of section(doc, key)) {
    const external = def.external === true || isMap(def.external);
    const legacy = isMap(def.external) ? scalarString(def.external.name) : null;
    const written = scalarString(def.name) ?? legacy;
    out.set(k, { key: k, name: written ?? (external ? k : `${project}_${k}`), external, def });
  }
  if (key === 'networks' && !out.has('default'))
    out.set('default', { key: 'default', name: `${project}_default`, external: false, def: {} });
  return out;
}

/** Reads the project's name and top-level definitions from an interpolated document. */
export function readProject(doc: ComposeDocument, lookup: Lookup, report: Report): Project {
  const name = projectName(doc, lookup, report);
  return {
    name,
    dir: dirname(doc.file),
    file: doc.file,
    lookup,
    networks: resources(doc, 'networks', name),
    volumes: resources(doc, 'volumes', name),
    configs: new Map(section(doc, 'configs')),
    secrets: new Map(section(doc, 'secrets')),
  };
}
