import type { PathError } from './normalize.js';
import { knownKeys, type SchemaError, type SchemaName } from './schemaValidator.js';

/** Where the error should point: at a key (unknown/invalid key) or at the value. */
export interface LocatedPathError extends PathError {
  at: 'key' | 'value';
}

function decodePointer(pointer: string): Array<string | number> {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^[0-9]+$/.test(s) ? Number(s) : s));
}

function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length]![b.length]!;
}

function suggestion(schema: SchemaName, path: Array<string | number>, key: string): string {
  const section = path.filter((p) => typeof p === 'string').join('.');
  const known = knownKeys(schema)[section] ?? [];
  const best = known.map((k) => ({ k, d: editDistance(key.toLowerCase(), k.toLowerCase()) })).sort((x, y) => x.d - y.d)[0];
  const hint = best && best.d <= Math.max(2, Math.floor(key.length / 3)) ? `; did you mean "${best.k}"?` : '';
  return `${hint}${known.length ? ` (known keys${section ? ` in ${section}` : ''}: ${known.join(', ')})` : ''}`;
}

function fieldName(path: Array<string | number>): string {
  return path.length
    ? path
        .map((p) => (typeof p === 'number' ? `[${p}]` : p))
        .join('.')
        .replace(/\.\[/g, '[')
    : 'the document';
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
  return `${typeof value} ${String(value)}`;
}

function valueAt(doc: unknown, path: Array<string | number>): unknown {
  let v = doc;
  for (const p of path) v = v !== null && typeof v === 'object' ? (v as Record<string | number, unknown>)[p] : undefined;
  return v;
}

const TYPE_WORDS: Record<string, string> = {
  object: 'a mapping',
  array: 'a list',
  string: 'a string',
  integer: 'a whole number',
  number: 'a number',
  boolean: 'true or false',
};

function patternMessage(path: Array<string | number>, value: unknown, schemaPath: string): string {
  const last = path[path.length - 1];
  const v = JSON.stringify(value);
  if (schemaPath.includes('/$defs/duration/')) return `${fieldName(path)} ${v} is not a duration (examples: 500ms, 10s, 1m30s)`;
  if (last === 'name')
    return `name ${v} is not a DNS label: use lowercase letters, digits and "-", starting and ending with a letter or digit`;
  if (last === 'hostname') return `hostname ${v} is not a valid hostname (letters, digits, "-" and ".")`;
  if (last === 'cpuset') return `cpuset ${v} is not a CPU list (examples: "0", "0-1,3")`;
  if (last === 'ref') return `image.ref ${v} is not an image reference NAME:TAG (examples: busybox:1.36, example.com/team/app:v2)`;
  if (last === 'user') return `user ${v} is not a user: a uid or a name, optionally :gid or :group (examples: 1000, www-data:www-data)`;
  if (path.includes('capabilities')) return `${fieldName(path)} ${v} is not a capability name (examples: NET_ADMIN, CAP_SYS_TIME)`;
  if (['stopGracePeriod', 'initial', 'max', 'resetAfter', 'interval', 'timeout', 'startPeriod'].includes(String(last))) {
    return `${fieldName(path)} ${v} is not a duration (examples: 500ms, 10s, 1m30s)`;
  }
  if (last === 'memory' || last === 'memsw') return `${last} ${v} is not a quantity (examples: 512Mi, 1Gi, 100M, 1048576)`;
  if (last === 'hostIP') return `${fieldName(path)} ${v} is not an IPv4 address (example: 127.0.0.1)`;
  if (path[0] === 'network' && last === 'name') return `network.name ${v} is not a CNI network name (letters, digits, "_", "." and "-")`;
  if (schemaPath.includes('/$defs/absolutePath/')) return `${fieldName(path)} ${v} must be an absolute path (starting with "/")`;
  return `${fieldName(path)} ${v} does not have the form the schema asks for`;
}

const IMAGE = '#/properties/image/';
const IMAGE_OBJECT = '#/properties/image/oneOf/1';

/**
 * The errors of a spec's `image`, which is a registry reference (a string) or a mapping: for a
 * string one message about the reference; for a mapping its own errors (unknown keys, bad layer
 * paths) as if the mapping were the only form, else "exactly one of layers or ref"; for anything
 * else what it must be. Returns the messages made here and the errors left to translate.
 */
function imageErrors(errors: readonly SchemaError[], doc: unknown): { items: LocatedPathError[]; rest: SchemaError[] } {
  const onImage = (e: SchemaError): boolean => e.instancePath === '/image' || e.instancePath.startsWith('/image/');
  const rest = errors.filter((e) => !onImage(e));
  if (rest.length === errors.length || !(doc !== null && typeof doc === 'object' && 'image' in doc))
    return { items: [], rest: [...errors] };
  const value = (doc as { image: unknown }).image;
  const at = { path: ['image'], at: 'value' as const };
  if (typeof value === 'string') {
    const dir = value.startsWith('/') ? `; a layer directory is written image: {layers: [${value}]}` : '';
    return {
      items: [
        {
          ...at,
          message: `image ${JSON.stringify(value)} is not a registry reference (examples: nginx:1.27, ghcr.io/o/app:2, registry.local:5000/app@sha256:...)${dir}`,
        },
      ],
      rest,
    };
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return {
      items: [
        { ...at, message: `image must be a registry reference (nginx:1.27) or a mapping with "layers" or "ref", not ${describe(value)}` },
      ],
      rest,
    };
  }
  const own = errors
    .filter(onImage)
    .filter(
      (e) =>
        !e.schemaPath.startsWith(`${IMAGE}oneOf/0`) &&
        e.schemaPath !== `${IMAGE}oneOf` &&
        !e.schemaPath.startsWith(`${IMAGE_OBJECT}/oneOf`),
    )
    .map((e) =>
      e.schemaPath.startsWith(`${IMAGE_OBJECT}/`)
        ? { ...e, schemaPath: `#/properties/image${e.schemaPath.slice(IMAGE_OBJECT.length)}` }
        : e,
    );
  if (own.length) return { items: [], rest: [...rest, ...own] };
  const both = 'layers' in value && 'ref' in value;
  return {
    items: [
      {
        ...at,
        message: `image needs exactly one of "layers" (layer directories) or "ref" (an imported image, NAME:TAG)${both ? ', not both' : ''}`,
      },
    ],
    rest,
  };
}

/** What a user coming from Docker or compose most likely meant by a value of the wrong type. */
function typeHint(path: ReadonlyArray<string | number>, value: unknown): string {
  if (path[0] === 'volumes' && path.length === 2 && typeof value === 'string') {
    const [source, target] = value.split(':');
    return source?.startsWith('/') || source?.startsWith('.')
      ? ` (a host path is a bind mount: mounts: [{source: ${source}, target: ${target ?? '...'}}])`
      : ` (a named volume is {name: ${source}, target: ${target ?? '...'}})`;
  }
  return '';
}

/** Turns ajv's errors into one clear message per problem, with the path to point at. */
export function translateSchemaErrors(
  allErrors: readonly SchemaError[],
  doc: unknown,
  schema: SchemaName = 'container.v1',
): LocatedPathError[] {
  const { items, rest: errors } = schema === 'container.v1' ? imageErrors(allErrors, doc) : { items: [], rest: [...allErrors] };
  const out: LocatedPathError[] = [...items];
  const oneOfPaths = new Set(errors.filter((e) => e.keyword === 'oneOf').map((e) => e.instancePath));
  const anyOfPaths = new Set(errors.filter((e) => e.keyword === 'anyOf').map((e) => e.instancePath));
  const seen = new Set<string>();
  for (const e of errors) {
    const path = decodePointer(e.instancePath);
    const value = valueAt(doc, path);
    let item: LocatedPathError | null = null;
    if (oneOfPaths.has(e.instancePath) && e.keyword !== 'oneOf' && e.schemaPath.includes('/oneOf/')) continue;
    if (anyOfPaths.has(e.instancePath) && e.keyword !== 'anyOf' && e.schemaPath.includes('/anyOf/')) continue;
    switch (e.keyword) {
      case 'anyOf':
        item = {
          path,
          at: 'value',
          message:
            path[path.length - 2] === 'ports'
              ? `${fieldName(path)} must be a port (1-65535) or a range "lo-hi", not ${describe(value)}`
              : `${fieldName(path)} has none of the forms the schema allows (${describe(value)})`,
        };
        break;
      case 'additionalProperties': {
        const key = String(e.params.additionalProperty);
        item = {
          path: [...path, key],
          at: 'key',
          message: `unknown key "${key}"${path.length ? ` in ${fieldName(path)}` : ''}${suggestion(schema, path, key)}`,
        };
        break;
      }
      case 'required':
        item = {
          path,
          at: 'value',
          message: `missing required key "${String(e.params.missingProperty)}"${path.length ? ` in ${fieldName(path)}` : ''}`,
        };
        break;
      case 'propertyNames':
        item = {
          path: [...path, String(e.params.propertyName)],
          at: 'key',
          message: `${fieldName(path)} key ${JSON.stringify(e.params.propertyName)} is not a valid name (letters, digits and "_", not starting with a digit, at most 256 characters)`,
        };
        break;
      case 'type':
        item = {
          path,
          at: 'value',
          message: `${fieldName(path)} must be ${TYPE_WORDS[String(e.params.type)] ?? String(e.params.type)}, not ${describe(value)}${typeHint(path, value)}`,
        };
        break;
      case 'enum':
        item = {
          path,
          at: 'value',
          message: `${fieldName(path)} must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, not ${describe(value)}`,
        };
        break;
      case 'const':
        item = { path, at: 'value', message: `${fieldName(path)} must be ${JSON.stringify(e.params.allowedValue)}` };
        break;
      case 'oneOf': {
        const last = path[path.length - 1];
        if (last === 'image') {
          if (errors.some((x) => x.instancePath === e.instancePath && x !== e && !x.schemaPath.includes('/oneOf/'))) continue;
          const both = value !== null && typeof value === 'object' && 'layers' in value && 'ref' in value;
          item = {
            path,
            at: 'value',
            message: `image needs exactly one of "layers" (layer directories) or "ref" (an imported image, NAME:TAG)${both ? ', not both' : ''}`,
          };
          break;
        }
        if (last === 'healthcheck') {
          if (
            errors.some(
              (x) =>
                x.instancePath.startsWith(`${e.instancePath}/`) ||
                (x.instancePath === e.instancePath && x.keyword === 'additionalProperties'),
            )
          )
            continue;
          const kinds = ['exec', 'http', 'tcp'].filter((k) => value !== null && typeof value === 'object' && k in value);
          item = {
            path,
            at: 'value',
            message: `healthcheck needs exactly one of exec (a command), http ({port, path}) or tcp ({port})${kinds.length > 1 ? `, not ${kinds.join(' and ')}` : ''}`,
          };
          break;
        }
        const unlimited = last === 'memsw' ? ' or "unlimited"' : '';
        item = {
          path,
          at: 'value',
          message: `${fieldName(path)} must be a quantity such as 512Mi, 1Gi, 100M or a number of bytes${unlimited}, not ${describe(value)}`,
        };
        break;
      }
      case 'pattern':
        item = { path, at: 'value', message: patternMessage(path, value, e.schemaPath) };
        break;
      case 'minimum':
      case 'maximum':
      case 'exclusiveMinimum':
        item = {
          path,
          at: 'value',
          message: `${fieldName(path)} must be ${e.keyword === 'maximum' ? 'at most' : 'at least'} ${String(e.params.limit)}, not ${String(value)}`,
        };
        break;
      case 'minItems':
        item = { path, at: 'value', message: `${fieldName(path)} must not be empty` };
        break;
      case 'maxItems':
      case 'maxProperties':
        item = { path, at: 'value', message: `${fieldName(path)} has more than ${String(e.params.limit)} entries` };
        break;
      case 'minLength':
        item = { path, at: 'value', message: `${fieldName(path)} must not be empty` };
        break;
      case 'maxLength':
        item = { path, at: 'value', message: `${fieldName(path)} is longer than ${String(e.params.limit)} characters` };
        break;
      default:
        item = { path, at: 'value', message: `${fieldName(path)} ${e.message ?? 'is invalid'}` };
    }
    const key = `${item.path.join('/')}|${item.message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push(item);
    }
  }
  return out;
}
