import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_BUILD_ID } from '../bundle.js';
import { packageRoot } from '../native.js';

/** One error as ajv reports it. */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A compiled validator for one of pocker's schemas. */
export type SchemaValidate = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

/** pocker's JSON Schemas (schema/<name>.schema.json): container specs and the instance config. */
export type SchemaName = 'container.v1' | 'instance.v1';

/** Every schema `npm run build` precompiles (scripts/build-schema-validator.mjs reads this list). */
export const SCHEMAS: readonly SchemaName[] = ['container.v1', 'instance.v1'];

const validators = new Map<SchemaName, SchemaValidate>();

/** Name of the precompiled validator that `npm run build` writes next to the compiled code. */
export function precompiledName(name: SchemaName): string {
  return `${name}.validate.cjs`;
}

/**
 * The precompiled validator inlined into the bundle: there `require` is the bundle's own and these
 * literal paths are resolved at build time (after scripts/build-schema-validator.mjs wrote them).
 */
function bundledValidator(name: SchemaName): SchemaValidate | undefined {
  if (BUNDLE_BUILD_ID === undefined || typeof require !== 'function') return undefined;
  /* eslint-disable @typescript-eslint/no-require-imports -- literal require() calls are what the bundler inlines */
  if (name === 'container.v1') return require('../../dist/schema/container.v1.validate.cjs') as SchemaValidate;
  return require('../../dist/schema/instance.v1.validate.cjs') as SchemaValidate;
  /* eslint-enable @typescript-eslint/no-require-imports */
}

/**
 * The validator of a schema: the standalone code ajv generated at build time (fast start-up), or
 * the schema compiled now when running from sources.
 */
export function schemaValidator(name: SchemaName = 'container.v1'): SchemaValidate {
  const hit = validators.get(name) ?? bundledValidator(name);
  if (hit) {
    validators.set(name, hit);
    return hit;
  }
  const require = createRequire(import.meta.url);
  const file = precompiledName(name);
  const besideCode = fileURLToPath(new URL(`../../schema/${file}`, import.meta.url));
  for (const candidate of [besideCode, join(packageRoot(), 'dist', 'schema', file)]) {
    if (!existsSync(candidate)) continue;
    const v = require(candidate) as SchemaValidate;
    validators.set(name, v);
    return v;
  }
  const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const AjvClass = (Ajv2020 as unknown as { default: typeof Ajv2020.default }).default ?? Ajv2020;
  const ajv = new AjvClass({ allErrors: true, strict: true });
  const v = ajv.compile(schemaDocument(name)) as unknown as SchemaValidate;
  validators.set(name, v);
  return v;
}

type JsonSchema = {
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  $ref?: string;
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  $defs?: Record<string, JsonSchema>;
};

/** The schema document itself (read on demand: only error messages need it). */
export function schemaDocument(name: SchemaName): JsonSchema {
  return JSON.parse(readFileSync(join(packageRoot(), 'schema', `${name}.schema.json`), 'utf8')) as JsonSchema;
}

const keyCache = new Map<SchemaName, Record<string, string[]>>();

/**
 * The keys the schema allows in each mapping, by dotted section ("" for the top, "resources",
 * "network.ports" for the items of a list): derived from the schema, so "did you mean" hints never
 * drift from it.
 */
export function knownKeys(name: SchemaName): Record<string, string[]> {
  const hit = keyCache.get(name);
  if (hit) return hit;
  const root = schemaDocument(name);
  const out: Record<string, string[]> = {};
  const deref = (s: JsonSchema): JsonSchema => (s.$ref?.startsWith('#/$defs/') ? deref(root.$defs![s.$ref.slice(8)]!) : s);
  const walk = (s: JsonSchema, section: string, depth: number): void => {
    if (depth > 12) return;
    const node = deref(s);
    for (const alt of [...(node.oneOf ?? []), ...(node.anyOf ?? [])]) walk(alt, section, depth + 1);
    if (node.items) walk(node.items, section, depth + 1);
    if (!node.properties) return;
    out[section] = [...new Set([...(out[section] ?? []), ...Object.keys(node.properties)])];
    for (const [k, child] of Object.entries(node.properties)) walk(child, section ? `${section}.${k}` : k, depth + 1);
  };
  walk(root, '', 0);
  keyCache.set(name, out);
  return out;
}
