// Generates the standalone ajv validators of pocker's schemas, so the CLI never compiles a schema
// at start-up: schema/<name>.schema.json -> dist/schema/<name>.validate.cjs (+ a copy of the schema).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { SCHEMAS, precompiledName } = await import(join(root, 'dist', 'reconciler', 'spec', 'schemaValidator.js'));
const out = join(root, 'dist', 'schema');
mkdirSync(out, { recursive: true });
for (const name of SCHEMAS) {
  const schemaPath = join(root, 'schema', `${name}.schema.json`);
  const ajv = new Ajv2020.default({ allErrors: true, strict: true, code: { source: true } });
  const validate = ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
  writeFileSync(join(out, precompiledName(name)), standaloneCode.default(ajv, validate));
  copyFileSync(schemaPath, join(out, `${name}.schema.json`));
}
