#!/usr/bin/env node
// The whole test suite, as the README's test command and .ci/run run it:
//   1. builds (TypeScript, tests compiled to dist-test/, native code) and runs the formatter and
//      the linter (npm run lint; a finding counts as a failure),
//   2. runs vitest on this host (unit, property, fake-host and real-kernel tests),
//   3. runs the cgroup v2 lane: the real-kernel tests of test/vm/lane.mjs, compiled, inside a pure
//      cgroup v2 kernel booted under qemu (test/vm/cgroup2-vm),
// and ends with one plain line "N passed, N failed, N skipped" summed from vitest's JSON reports.
// Exit status is non-zero when anything failed, when no test ran, and on CI (CI=true) when any
// test was skipped or the v2 lane could not run.
//   node scripts/run-tests.mjs [--no-v2 | --only-v2] [vitest filters...]
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const ci = process.env.CI === 'true';
const args = process.argv.slice(2);
const flag = (f) => {
  const i = args.indexOf(f);
  if (i >= 0) args.splice(i, 1);
  return i >= 0;
};
const insideLane = flag('--inside-v2-lane');
const noV2 = flag('--no-v2');
const onlyV2 = flag('--only-v2');
const vitest = join(root, 'node_modules', 'vitest', 'vitest.mjs');
const COUNTS = '@@pocker-test-counts ';
/** One line per failure (test, file or run), printed again just above the counts line. */
const failures = [];
/** Reports a failure on stderr now and in the list above the counts line. */
function fail(message) {
  console.error(message);
  failures.push(message);
}
/** A test file's path relative to the checkout. */
const relative = (file) => (file.startsWith(`${root}/`) ? file.slice(root.length + 1) : file);

/**
 * Runs vitest with a JSON report; returns {passed, failed, skipped, status}. Every way a run can
 * fail counts as a failure: a failed test; a file that failed outside its tests (a hook that
 * threw, which vitest reports by skipping the tests it kept from running; an import error); and a
 * non-zero exit of vitest with nothing else failed (an unhandled error or rejection, which vitest
 * reports only in its exit status). piped: capture output (no terminal codes) and print it after.
 */
function runVitest(config, report, extra, piped = false) {
  mkdirSync(dirname(report), { recursive: true });
  rmSync(report, { force: true });
  const argv = [
    vitest,
    'run',
    ...(config ? ['--config', config] : []),
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
    ...extra,
  ];
  const r = spawnSync(process.execPath, argv, {
    cwd: root,
    stdio: piped ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  if (piped) process.stdout.write(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  const status = r.status ?? 1;
  if (!existsSync(report)) {
    fail(`vitest wrote no report (${report}; exit ${status}${r.signal ? `, ${r.signal}` : ''})`);
    return { passed: 0, failed: 1, skipped: 0, status };
  }
  const j = JSON.parse(readFileSync(report, 'utf8'));
  const files = j.testResults ?? [];
  const broken = files.filter((f) => f.status === 'failed' && !(f.assertionResults ?? []).some((a) => a.status === 'failed'));
  for (const f of broken)
    fail(`FAILED outside its tests (a hook or the file itself): ${relative(f.name)}${f.message ? `: ${f.message.split('\n')[0]}` : ''}`);
  for (const f of files)
    for (const a of f.assertionResults ?? [])
      if (a.status === 'failed')
        failures.push(`${relative(f.name)} > ${a.fullName ?? a.title}: ${(a.failureMessages?.[0] ?? '').split('\n')[0].slice(0, 300)}`);
  let failed = (j.numFailedTests ?? 0) + broken.length;
  if (status !== 0 && failed === 0) {
    fail(`vitest exited with status ${status} although every test passed: an unhandled error or rejection (see its output above)`);
    failed = 1;
  }
  return { passed: j.numPassedTests ?? 0, failed, skipped: (j.numPendingTests ?? 0) + (j.numTodoTests ?? 0), status };
}

const negativeControls = flag('--negative-controls');
/** The limit tests the negative controls run with each wrong driver (test/helpers/wrongDrivers.ts). */
const CONTROL_TESTS = 'dist-test/test/runtime/limits.kernel.test.js';
/** The wrong drivers, from the compiled test helpers (there only after the build). */
const wrongDrivers = async () => (await import(join(root, 'dist-test', 'test', 'helpers', 'wrongDrivers.js'))).WRONG_DRIVERS;

if (insideLane) {
  // Inside the VM: the lane's compiled tests (or the negative controls, each wrong driver in
  // turn); counts go back to the host on one marked line each.
  if (negativeControls) {
    for (const mode of await wrongDrivers()) {
      process.env.POCKER_TEST_WRONG_DRIVER = mode;
      const c = runVitest(join(root, 'vitest.v2.config.mjs'), `/tmp/pocker-v2-control-${mode}.json`, [CONTROL_TESTS], true);
      console.log(`${COUNTS}${JSON.stringify({ ...c, mode })}`);
    }
    process.exit(0);
  }
  const c = runVitest(join(root, 'vitest.v2.config.mjs'), '/tmp/pocker-v2-lane.json', args, true);
  console.log(`${COUNTS}${JSON.stringify({ ...c, failures })}`);
  process.exit(c.status);
}

const build = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
if (build.status !== 0) {
  console.log('0 passed, 1 failed, 0 skipped');
  process.exit(1);
}

const total = { passed: 0, failed: 0, skipped: 0 };
const add = (c) => {
  total.passed += c.passed;
  total.failed += c.failed;
  total.skipped += c.skipped;
};
let laneProblem = '';

// The formatter and the linter on a whole run (not on a filtered one, nor inside the lane): a
// finding fails the run like a failed test.
if (!insideLane && !onlyV2 && !args.length) {
  const lint = spawnSync('npm', ['run', '--silent', 'lint'], { cwd: root, stdio: 'inherit' });
  if (lint.status !== 0) {
    fail('formatter or linter findings (above): npm run format fixes the formatting');
    total.failed += 1;
  }
}

if (!onlyV2) add(runVitest(null, join(root, 'test-results', 'vitest.json'), args));

if (!noV2) {
  const kernels = existsSync('/boot') ? readdirSync('/boot').filter((f) => f.startsWith('vmlinuz-')) : [];
  const qemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64']).status === 0;
  if (!kernels.length || !qemu || process.getuid?.() !== 0) {
    laneProblem = `cgroup v2 lane not run: needs root, qemu-system-x86 and linux-image-amd64 (${[!kernels.length && 'no kernel in /boot', !qemu && 'no qemu', process.getuid?.() !== 0 && 'not root'].filter(Boolean).join(', ')})`;
    console.error(laneProblem);
    total.skipped += 1;
  } else {
    const t0 = Date.now();
    console.log('\ncgroup v2 lane: booting a pure cgroup v2 kernel under qemu (test/vm/cgroup2-vm)...');
    const env = `CI=${ci ? 'true' : ''}`;
    const vm = spawnSync(
      join(root, 'test', 'vm', 'cgroup2-vm'),
      ['-t', '900', '-C', root, '--', 'env', env, process.execPath, join(root, 'scripts', 'run-tests.mjs'), '--inside-v2-lane', ...args],
      { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
    );
    const out = `${vm.stdout ?? ''}${vm.stderr ?? ''}`;
    process.stdout.write(
      out
        .split('\n')
        .filter((l) => !l.includes(COUNTS))
        .join('\n'),
    );
    const line = out.split('\n').find((l) => l.includes(COUNTS));
    if (line) {
      const c = JSON.parse(line.slice(line.indexOf(COUNTS) + COUNTS.length));
      add(c);
      for (const f of c.failures ?? []) failures.push(`cgroup v2 lane: ${f}`);
    } else {
      laneProblem = `cgroup v2 lane produced no report (exit ${vm.status})`;
      fail(laneProblem);
      total.failed += 1;
    }
    console.log(`cgroup v2 lane: ${Math.round((Date.now() - t0) / 1000)} s wall`);
    if (!args.length) {
      // Negative controls: the limit tests with drivers that get limits wrong must fail, or the
      // lane would prove nothing: a v1 driver on the v2 tree (cannot even start containers), a
      // driver that writes memory.max one page off, one that swaps cpu.max's quota and period.
      const bad = spawnSync(
        join(root, 'test', 'vm', 'cgroup2-vm'),
        [
          '-t',
          '900',
          '-C',
          root,
          '--',
          'env',
          env,
          process.execPath,
          join(root, 'scripts', 'run-tests.mjs'),
          '--inside-v2-lane',
          '--negative-controls',
        ],
        { cwd: root, encoding: 'utf8', maxBuffer: 64 << 20 },
      );
      const reports = `${bad.stdout ?? ''}`
        .split('\n')
        .filter((l) => l.includes(COUNTS))
        .map((l) => JSON.parse(l.slice(l.indexOf(COUNTS) + COUNTS.length)));
      for (const mode of await wrongDrivers()) {
        const c = reports.find((r) => r.mode === mode);
        if (c && c.failed > 0)
          console.log(`cgroup v2 lane negative control ${mode}: ${c.failed} of ${c.failed + c.passed} limit test(s) fail, as they must`);
        else {
          if (!c) process.stdout.write(`${bad.stdout ?? ''}${bad.stderr ?? ''}`);
          fail(
            `cgroup v2 lane negative control ${mode} FAILED: the limit tests did not catch a wrong driver (${c ? JSON.stringify(c) : `no report, exit ${bad.status}`})`,
          );
          total.failed += 1;
        }
      }
    }
  }
}

if (ci && total.skipped > 0) console.error(`CI=true: ${total.skipped} test(s) were skipped; every test must run on CI`);
if (total.passed + total.failed === 0) console.error('no test ran');
if (failures.length) console.log(`\nFailed (${failures.length}):\n${failures.map((f) => `  ${f}`).join('\n')}`);
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`);
process.exit(total.failed > 0 || total.passed + total.failed === 0 || (ci && total.skipped > 0) ? 1 : 0);
