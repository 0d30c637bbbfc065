// Generates the standalone ajv validator for the spec schema, so the CLI never compiles a schema
// at start-up: schema/container.v1.schema.json -> dist/schema/container.v1.validate.cjs (+ a copy of the schema).
import { mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Ajv2020 from 'ajv/dist/2020.js';
import standaloneCode from 'ajv/dist/standalone/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const schemaPath = join(root, 'schema', 'container.v1.schema.json');
const schema = JSON.parse(readFileSync(schemaPath, 'utf8'));
const ajv = new Ajv2020.default({ allErrors: true, strict: true, code: { source: true } });
const validate = ajv.compile(schema);
const out = join(root, 'dist', 'schema');
mkdirSync(out, { recursive: true });
writeFileSync(join(out, 'container.v1.validate.cjs'), standaloneCode.default(ajv, validate));
copyFileSync(schemaPath, join(out, 'container.v1.schema.json'));
