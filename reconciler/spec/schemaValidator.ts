import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  const root = fileURLToPath(new URL('../../', import.meta.url));
  try {
    cached = require(join(root, 'schema', PRECOMPILED)) as SchemaValidate;
  } catch {
    const Ajv2020 = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const AjvClass = (Ajv2020 as unknown as { default: typeof Ajv2020.default }).default ?? Ajv2020;
    const ajv = new AjvClass({ allErrors: true, strict: true });
    cached = ajv.compile(require(join(root, 'schema', 'container.v1.schema.json'))) as unknown as SchemaValidate;
  }
  return cached;
}
