import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../native.js';

/** One error as ajv reports it. */
export interface SchemaError {
  instancePath: string;
  schemaPath: string;
  keyword: string;
  params: Record<string, unknown>;
  message?: string;
}

/** A compiled validator for the container spec schema. */
export type SchemaValidate = ((data: unknown) => boolean) & { errors?: SchemaError[] | null };

/** Name of the precompiled validator that `npm run build` writes next to the compiled code. */
export const PRECOMPILED = 'container.v1.validate.cjs';

let cached: SchemaValidate | undefined;

/**
 * The spec validator: the standalone code ajv generated at build time (fast start-up), or the
 * schema compiled now when running from sources.
 */
export function schemaValidator(): SchemaValidate {
  if (cached) return cached;
  const require = createRequire(import.meta.url);
  const besideCode = fileURLToPath(new URL(`../../schema/${PRECOMPILED}`, import.meta.url));
  for (const candidate of [besideCode, join(packageRoot(), 'dist', 'schema', PRECOMPILED)]) {
    if (!existsSync(candidate)) continue;
    cached = require(candidate) as SchemaValidate;
    return cached;
  }
  const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
  const AjvClass = (Ajv2020 as unknown as { default: typeof Ajv2020.default }).default ?? Ajv2020;
  const ajv = new AjvClass({ allErrors: true, strict: true });
  cached = ajv.compile(require(join(packageRoot(), 'schema', 'container.v1.schema.json'))) as unknown as SchemaValidate;
  return cached;
}
