#!/usr/bin/env node
// The crash-consistency harness on its own: npm run test:faults [-- --iterations N] [--seed S]
// (the whole suite runs it with 200 random kills plus a kill at every named step).
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { iterations: { type: 'string', default: '200' }, seed: { type: 'string' } } });
const env = { ...process.env, POCKER_FAULT_ITERATIONS: values.iterations, ...(values.seed && { POCKER_FAULT_SEED: values.seed }) };
const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) process.exit(1);
const r = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', 'test/controller/faults.kernel.test.ts', '--testTimeout', '86400000'],
  { cwd: root, env, stdio: 'inherit' },
);
process.exit(r.status ?? 1);
