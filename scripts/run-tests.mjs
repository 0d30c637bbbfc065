#!/usr/bin/env node
// The whole test suite, as the README's test command and .ci/run run it: builds, runs vitest with
// a JSON report, and ends with one plain line "N passed, N failed, N skipped" computed from it.
// Exit status is non-zero when anything failed, when no test ran, and on CI (CI=true) when any
// test was skipped (real-kernel tests must run there).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const report = join(root, 'test-results', 'vitest.json');
const args = process.argv.slice(2);

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}
mkdirSync(dirname(report), { recursive: true });
rmSync(report, { force: true });
const vitest = spawnSync(
  process.execPath,
  [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`, ...args],
  { cwd: root, stdio: 'inherit' },
);

let passed = 0, failed = 0, skipped = 0;
if (existsSync(report)) {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  passed = r.numPassedTests ?? 0;
  failed = (r.numFailedTests ?? 0) + (r.testResults ?? []).filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).length).length;
  skipped = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
} else {
  failed = 1;
}
const ci = process.env.CI === 'true';
if (ci && skipped > 0) console.error(`CI=true: ${skipped} test(s) were skipped; every test must run on CI`);
if (passed + failed === 0) console.error('no test ran');
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(vitest.status !== 0 || failed > 0 || passed + failed === 0 || (ci && skipped > 0) ? 1 : 0);
