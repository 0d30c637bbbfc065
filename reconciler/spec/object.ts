import { withSpecHash } from './hash.js';
import { normalizeSpec, type PathError, type RawSpec } from './normalize.js';
import { translateSchemaErrors } from './schemaErrors.js';
import { schemaValidator } from './schemaValidator.js';
import type { DesiredContainer, SpecSource } from './types.js';

/**
 * A spec given as a value rather than a file (`pocker run` builds one from its flags): checked by
 * the same schema and normalization as spec files. Errors name the spec path (`resources.memory`).
 */
export function desiredFromObject(
  value: unknown,
  name: string,
  source: SpecSource,
): { desired: DesiredContainer } | { errors: PathError[] } {
  const validate = schemaValidator();
  if (!validate(value)) return { errors: translateSchemaErrors(validate.errors ?? [], value) };
  const result = normalizeSpec(value as RawSpec, name);
  if ('errors' in result) return { errors: result.errors };
  return { desired: withSpecHash({ spec: result.spec, user: result.user, source }) };
}

/** "resources.memory: message" for one error of desiredFromObject. */
export function formatPathError(e: PathError): string {
  const path = e.path
    .map((p) => (typeof p === 'number' ? `[${p}]` : p))
    .join('.')
    .replace(/\.\[/g, '[');
  return path && !e.message.startsWith(`${path}:`) && !e.message.startsWith(`${String(e.path.at(-1))}:`)
    ? `${path}: ${e.message}`
    : e.message;
}
