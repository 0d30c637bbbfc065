/**
 * A compose file → one pocker spec per service. Pure: the compose text, the environment and a
 * file reader in; specs, findings and notes out (a ConvertError when compose itself would refuse
 * the file). The order: YAML (anchors, merge keys) → `.env` → interpolation → the project
 * (name, networks, volumes, configs, secrets) → each service → what needs every service
 * (dependencies, names and ports claimed twice).
 */
import { DEFAULT_NETWORK_NAME } from '../spec/types.js';
import { ServiceContext } from './context.js';
import type { ComposeDependency } from './dependsOn.js';
import { ConvertError } from './errors.js';
import { interpolateTree, PathTemplateError } from './interpolate.js';
import { parseCompose, type ComposeDocument } from './load.js';
import { deriveLabel, isDnsLabel, specFileName } from './names.js';
import { describePort } from './ports.js';
import { readDotenv, readProject } from './project.js';
import { Report, TOP_LEVEL } from './report.js';
import { convertService, type ServiceSpec } from './service.js';
import type { ConvertInput, ConvertResult, ConvertedSpec, SpecDependency } from './types.js';
import { describe, entries, isExtension, isMap, scalarString, type YamlMap } from './values.js';

const TOP_KEYS = new Set(['version', 'name', 'services', 'networks', 'volumes', 'configs', 'secrets']);
const SECTIONS = new Set(['services', 'networks', 'volumes', 'configs', 'secrets']);

/** Interpolates the document with the project environment; extension fields are left as written. */
function interpolate(doc: ComposeDocument, lookup: (k: string) => string | undefined, report: Report): ComposeDocument {
  const onUnset = (name: string, path: Array<string | number>): void => {
    const [service, field] =
      path[0] === 'services' && path.length > 1 ? [String(path[1]), path.slice(2).join('.') || '(service)'] : [TOP_LEVEL, path.join('.')];
    report.note(service, field, `variable ${name} is not set: a blank string is used, as compose does`);
  };
  const skip = (path: ReadonlyArray<string | number>, key: string): boolean =>
    isExtension(key) && (path.length === 0 || (path.length === 2 && SECTIONS.has(String(path[0]))));
  try {
    return { ...doc, value: interpolateTree(doc.value, lookup, onUnset, skip) as YamlMap };
  } catch (e) {
    if (e instanceof PathTemplateError) throw ConvertError.at('INTERPOLATION', doc.file, e.message, doc.at(e.path));
    throw e;
  }
}

function topLevelKeys(doc: ComposeDocument, report: Report): void {
  for (const k of Object.keys(doc.value)) {
    if (TOP_KEYS.has(k) || isExtension(k)) continue;
    if (k === 'include') report.lose(TOP_LEVEL, 'include', 'the included compose files are not read: convert each of them on its own');
    else report.lose(TOP_LEVEL, k, 'not a top-level key convert knows: ignored');
  }
}

/** The container name of each service: container_name, else the service name; a DNS label (derived when needed) used once. */
function containerName(ctx: { service: string; def: YamlMap }, used: Set<string>, report: Report): string {
  const written = scalarString(ctx.def.container_name);
  const base = written !== null && written !== '' ? written : ctx.service;
  const field = base === written ? 'container_name' : '(service name)';
  let name = base;
  if (!isDnsLabel(base)) {
    name = deriveLabel(base);
    report.lose(
      ctx.service,
      field,
      `${JSON.stringify(base)} is not a DNS label (lowercase letters, digits, "-"; at most 63), which pocker's names are: the container is named ${name}`,
    );
  }
  if (used.has(name)) {
    const taken = name;
    for (let n = 2; used.has(name); n++) name = `${taken.slice(0, 60)}-${n}`;
    report.lose(ctx.service, field, `the name ${taken} is taken by another service's container: this one is named ${name}`);
  }
  used.add(name);
  return name;
}

/** The spec's dependsOn: container names, conditions a spec of the dir can meet. */
function dependencies(
  service: string,
  deps: readonly ComposeDependency[],
  services: YamlMap,
  converted: ReadonlyMap<string, ConvertedSpec>,
  doc: ComposeDocument,
  report: Report,
): SpecDependency[] {
  const out: SpecDependency[] = [];
  for (const d of deps) {
    const field = `depends_on.${d.service}`;
    if (!Object.hasOwn(services, d.service) || isExtension(d.service)) {
      if (d.required)
        throw ConvertError.at(
          'INVALID',
          doc.file,
          `services.${service}.depends_on: service ${JSON.stringify(d.service)} is not defined`,
          doc.at(['services', service, 'depends_on']),
        );
      report.lose(service, field, 'the service is not defined (required: false): no dependency');
      continue;
    }
    if (d.service === service)
      throw ConvertError.at(
        'INVALID',
        doc.file,
        `services.${service}.depends_on: a service cannot depend on itself`,
        doc.at(['services', service, 'depends_on']),
      );
    const target = converted.get(d.service);
    if (!target) {
      report.lose(service, field, `${d.service} is not converted (see its findings): no dependency`);
      continue;
    }
    let condition = d.condition;
    if (condition === 'healthy' && !target.spec.healthcheck) {
      report.lose(
        service,
        field,
        `service_healthy: ${d.service} has no health check pocker runs (none, or only its image's HEALTHCHECK): waits until it is started`,
      );
      condition = 'started';
    }
    out.push({ name: target.spec.name, ...(condition !== 'started' && { condition }), ...(d.restartWith && { restartWith: true }) });
  }
  return out;
}

/** Compose refuses a cycle of depends_on (and pocker a cycle of dependsOn): the first one found, as service names. */
function refuseCycles(converted: ReadonlyMap<string, ConvertedSpec>, doc: ComposeDocument): void {
  const byName = new Map([...converted.values()].map((c) => [c.spec.name, c]));
  const state = new Map<string, 'open' | 'done'>();
  const stack: ConvertedSpec[] = [];
  const visit = (c: ConvertedSpec): void => {
    state.set(c.service, 'open');
    stack.push(c);
    for (const d of c.spec.dependsOn ?? []) {
      const t = byName.get(d.name)!;
      if (state.get(t.service) === 'open') {
        const cycle = [...stack.slice(stack.indexOf(t)), t].map((x) => x.service).join(' -> ');
        const at = doc.at(['services', t.service, 'depends_on']);
        throw ConvertError.at('INVALID', doc.file, `services.${t.service}.depends_on: dependency cycle ${cycle}`, at);
      }
      if (!state.has(t.service)) visit(t);
    }
    stack.pop();
    state.set(c.service, 'done');
  };
  for (const c of converted.values()) if (!state.has(c.service)) visit(c);
}

/**
 * What pocker requires of a spec dir as a whole and compose lets pass: a name, hostname or alias
 * claimed by two containers of one network, a host port published by two containers. The first
 * container keeps it; the others lose it (reported).
 */
function claimsOnceEach(specs: readonly ConvertedSpec[], report: Report): void {
  const names = new Map<string, string>();
  const netOf = (c: ConvertedSpec): string | null =>
    c.spec.network?.mode === 'bridge' ? (c.spec.network.name ?? DEFAULT_NETWORK_NAME) : null;
  for (const c of specs) {
    const net = netOf(c);
    if (net !== null) names.set(`${net}\0${c.spec.name}`, c.spec.name);
  }
  const ports = new Map<string, string>();
  for (const c of specs) {
    const net = netOf(c);
    const network = c.spec.network;
    if (net === null || !network) continue;
    const claim = (n: string): string | null => {
      const holder = names.get(`${net}\0${n}`);
      if (holder !== undefined && holder !== c.spec.name) return holder;
      names.set(`${net}\0${n}`, c.spec.name);
      return null;
    };
    if (c.spec.hostname !== undefined && c.spec.hostname !== c.spec.name) {
      const holder = claim(c.spec.hostname);
      if (holder) {
        report.lose(
          c.service,
          'hostname',
          `${c.spec.hostname} is also the name, hostname or alias of ${holder} on network ${net}, where names are unique in pocker: left out`,
        );
        delete c.spec.hostname;
      }
    }
    if (network.aliases) {
      network.aliases = network.aliases.filter((a) => {
        const holder = claim(a);
        if (holder)
          report.lose(
            c.service,
            'networks',
            `alias ${a} is also a name, hostname or alias of ${holder} on network ${net}, where names are unique in pocker: left out`,
          );
        return !holder;
      });
      if (!network.aliases.length) delete network.aliases;
    }
    if (network.ports) {
      network.ports = network.ports.filter((p) => {
        const key = `${p.protocol ?? 'tcp'}/${p.host}`;
        const holder = ports.get(key);
        if (holder)
          report.lose(
            c.service,
            'ports',
            `${describePort(p)}: host port ${key} is published by ${holder} already (Docker would refuse to start this one): left out`,
          );
        else ports.set(key, c.spec.name);
        return !holder;
      });
      if (!network.ports.length) delete network.ports;
    }
  }
}

/** Converts a compose file. Throws a ConvertError (with file:line:col) for what compose itself would refuse. */
export function convertCompose(input: ConvertInput): ConvertResult {
  const report = new Report();
  const parsed = parseCompose(input.text, input.composePath);
  const dotenv = readDotenv(input.composePath, input.env, input.files, report);
  const lookup = (k: string): string | undefined => input.env[k] ?? dotenv.get(k);
  const doc = interpolate(parsed, lookup, report);
  topLevelKeys(doc, report);
  const project = readProject(doc, lookup, report);
  const services = doc.value.services;
  if (!isMap(services))
    throw ConvertError.at('INVALID', doc.file, `"services" must be a mapping of services, not ${describe(services)}`, doc.at(['services']));
  const used = new Set<string>();
  const converted = new Map<string, ConvertedSpec>();
  const deps = new Map<string, ComposeDependency[]>();
  const files = new Set<string>();
  for (const [key, raw] of entries(services)) {
    if (raw !== null && !isMap(raw))
      throw ConvertError.at('INVALID', doc.file, `services.${key} must be a mapping`, doc.at(['services', key]));
    const def = raw ?? {};
    const profiles = Array.isArray(def.profiles) ? def.profiles.map(String) : [];
    if (profiles.length) {
      report.lose(key, 'profiles', `compose starts it only with --profile ${profiles.join(' or ')}: not converted`);
      continue;
    }
    const name = containerName({ service: key, def }, used, report);
    const ctx = new ServiceContext(project, doc, key, def, input.files, report, input.env.HOME);
    const r: ServiceSpec | null = convertService(ctx, name);
    if (!r) continue;
    let file = specFileName(key, name);
    if (files.has(file)) file = `${name}.yaml`;
    files.add(file);
    converted.set(key, { service: key, file, spec: r.spec });
    deps.set(key, r.dependencies);
  }
  for (const [key, c] of converted) {
    const d = dependencies(key, deps.get(key)!, services, converted, doc, report);
    if (d.length) c.spec.dependsOn = d;
  }
  refuseCycles(converted, doc);
  const specs = [...converted.values()];
  claimsOnceEach(specs, report);
  return { project: project.name, specs, findings: report.findings, notes: report.notes };
}
