/**
 * A container's environment: `env` and `envFrom`, with values from ConfigMaps of the file and
 * `$(NAME)` expanded as Kubernetes does. A Secret's key as a variable has no pocker peer (pocker's
 * secrets are files): a located error says so.
 */
import type { SpecBuilder } from './builder.js';
import type { Cursor } from './cursor.js';
import type { FileResources } from './documents.js';
import { expand } from './expansion.js';
import { NOT_SUPPORTED } from './rules.js';

const SECRET_ENV =
  "is not supported: pocker's secrets are files, not variables: mount the Secret as a volume (a secrets: entry, read from pocker's secrets dir) and read the file";

/** A ConfigMap value by name and key, or undefined (with a problem at `at` when it is not in the file). */
function configMapValue(res: FileResources, ref: Cursor): string | undefined {
  ref.keys({ name: true, key: true, optional: true }, NOT_SUPPORTED);
  const name = ref.at('name').string();
  const key = ref.at('key').string();
  if (name === undefined || key === undefined) {
    if (!ref.at('name').present || !ref.at('key').present) ref.refuse('needs name and key');
    return undefined;
  }
  const cm = res.configMaps.get(name);
  if (!cm) {
    ref.at('name').fail(`ConfigMap ${name} is not in this file: pocker reads a ConfigMap from the spec file that uses it`);
    return undefined;
  }
  const value = cm.data[key];
  if (value === undefined)
    ref.at('key').fail(`ConfigMap ${name} has no key ${key}${cm.binary.has(key) ? ' in data (binaryData is not supported)' : ''}`);
  return value;
}

/**
 * Reads env and envFrom into the spec (when either is given) and returns the variables as
 * Kubernetes expands references with them.
 */
export function importEnv(c: Cursor, b: SpecBuilder, res: FileResources): Map<string, string> {
  const vars = new Map<string, string>();
  const origins = new Map<string, Cursor>();
  for (const from of c.at('envFrom').list()) {
    from.keys({ configMapRef: true, prefix: true, secretRef: SECRET_ENV }, NOT_SUPPORTED);
    const prefix = from.at('prefix').string() ?? '';
    const ref = from.at('configMapRef');
    if (!ref.present) continue;
    ref.keys({ name: true, optional: true }, NOT_SUPPORTED);
    const name = ref.at('name').string();
    if (name === undefined) continue;
    const cm = res.configMaps.get(name);
    if (!cm) {
      ref.at('name').fail(`ConfigMap ${name} is not in this file: pocker reads a ConfigMap from the spec file that uses it`);
      continue;
    }
    for (const [k, v] of Object.entries(cm.data)) {
      vars.set(`${prefix}${k}`, v);
      origins.set(`${prefix}${k}`, from);
    }
  }
  for (const e of c.at('env').list()) {
    e.keys({ name: true, value: true, valueFrom: true }, NOT_SUPPORTED);
    const name = e.at('name').string();
    if (name === undefined) {
      if (!e.at('name').present) e.refuse('needs a name');
      continue;
    }
    let value: string | undefined = e.at('value').string() ?? '';
    const from = e.at('valueFrom');
    if (from.present) {
      from.keys(
        {
          configMapKeyRef: true,
          secretKeyRef: SECRET_ENV,
          fieldRef: 'is not supported: pocker has no downward API',
          resourceFieldRef: 'is not supported: pocker has no downward API',
          fileKeyRef: 'is not supported: pocker reads no variables from files',
        },
        NOT_SUPPORTED,
      );
      value = from.at('configMapKeyRef').present ? configMapValue(res, from.at('configMapKeyRef')) : undefined;
      if (value === undefined) continue;
    } else value = expand(value, (n) => vars.get(n));
    vars.set(name, value);
    origins.set(name, e);
  }
  if (c.at('env').present || c.at('envFrom').present) {
    b.set(['env'], Object.fromEntries(vars), (c.at('env').present ? c.at('env') : c.at('envFrom')).place);
    for (const [name, at] of origins) b.from(['env', name], at.place);
  }
  return vars;
}
