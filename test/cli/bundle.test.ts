import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { capabilityMask, effectiveCapabilities } from '../../reconciler/runtime/security/capabilities.js';
import { seccompBytes } from '../../reconciler/runtime/security/seccomp.js';

const root = packageRoot();
const copy = mkdtempSync(join(tmpdir(), 'pocker-bundle-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** A checkout holding only what bin/pocker needs from the build: no node_modules, no per-module output. */
function bundleOnlyCheckout(): string {
  for (const part of ['bin', 'schema', 'package.json', join('dist', 'bundle'), join('dist', 'schema')])
    cpSync(join(root, part), join(copy, part), { recursive: true });
  mkdirSync(join(copy, 'specs'));
  writeFileSync(join(copy, 'specs', 'web.yaml'), 'image:\n  layers: [/srv/layers/base]\ncommand: [sleep, "1"]\n');
  return copy;
}

describe('the CLI bundle', () => {
  const dir = bundleOnlyCheckout();
  const pocker = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [join(dir, 'bin', 'pocker'), ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  const cacheDir = join(dir, 'dist', 'bundle', 'code-cache');
  const caches = (kind: string) => readdirSync(cacheDir).filter((f) => f.startsWith(`${kind}-`));

  it('is what bin/pocker runs: the dispatcher alone for --version and help, one file per verb', () => {
    expect(readdirSync(join(dir, 'dist', 'bundle'))).toContain('pocker.cjs');
    const verbs = readdirSync(join(dir, 'dist', 'bundle', 'verbs')).filter((f) => f.endsWith('.cjs'));
    expect(verbs).toEqual(expect.arrayContaining(['validate.cjs', 'reconcile.cjs', 'run.cjs', 'ps.cjs', 'plan.cjs']));
    // The dispatcher carries none of the verbs' code: no YAML parser, no container runtime.
    expect(statSync(join(dir, 'dist', 'bundle', 'pocker.cjs')).size).toBeLessThan(
      statSync(join(dir, 'dist', 'bundle', 'verbs', 'validate.cjs')).size / 2,
    );
    expect(pocker(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(pocker(['--help']).stdout).toContain('validate [FILE...]');
    const unknown = pocker(['frobnicate']);
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
  });

  it("keeps V8's code cache per bundle, grown by the first runs, kept after, replaced when V8 rejects it", () => {
    const validate = (...more: string[]) => pocker(['validate', join(dir, 'specs', 'web.yaml'), ...more]);
    rmSync(cacheDir, { recursive: true, force: true });
    // Help and failed runs compile little: they write no cache.
    expect(pocker(['validate', '--help']).status).toBe(0);
    expect(validate(join(dir, 'specs', 'missing.yaml')).status).toBe(1);
    expect(existsSync(cacheDir) ? caches('validate') : []).toEqual([]);

    expect(validate().stdout).toContain('ok: 1 container spec(s)');
    expect(caches('validate')).toEqual([expect.stringMatching(/-g1\.bin$/)]);
    for (let i = 0; i < 4; i++) expect(validate().stdout).toContain('ok: 1 container spec(s)');
    const [last, ...more] = caches('validate');
    expect(more).toEqual([]);
    expect(last).toMatch(/-g4\.bin$/);
    const written = statSync(join(cacheDir, last!));
    expect(written.size).toBeGreaterThan(10_000);
    expect(validate().stdout).toContain('ok: 1 container spec(s)');
    expect(statSync(join(cacheDir, last!)).mtimeMs).toBe(written.mtimeMs);

    // Garbage in the cache: V8 rejects it, the run still works and starts the cache again.
    writeFileSync(join(cacheDir, last!), Buffer.alloc(4096, 7));
    expect(validate().stdout).toContain('ok: 1 container spec(s)');
    const [again, ...others] = caches('validate');
    expect(others).toEqual([]);
    expect(again).toMatch(/-g1\.bin$/);
    expect(statSync(join(cacheDir, again!)).size).toBeGreaterThan(10_000);
  });

  it('validates without loading node:crypto or node:child_process (each costs about 3 ms of start-up)', () => {
    const probe = join(copy, 'loaded.cjs');
    writeFileSync(probe, "process.on('exit', () => process.stderr.write(JSON.stringify(process.moduleLoadList)));\n");
    const r = spawnSync(process.execPath, ['--require', probe, join(dir, 'bin', 'pocker'), 'validate', join(dir, 'specs', 'web.yaml')], {
      encoding: 'utf8',
    });
    expect(r.stdout).toContain('ok: 1 container spec(s)');
    const loaded = JSON.parse(r.stderr) as string[];
    expect(loaded).toContain('NativeModule vm');
    expect(loaded.filter((m) => /^NativeModule (crypto|child_process)$/.test(m))).toEqual([]);
  });

  it("starts the verbs that run containers with the default capability set's seccomp filter, built from the same sources", () => {
    const caps = effectiveCapabilities(false, [], []);
    const entry = `"${capabilityMask(caps)}":"${seccompBytes(caps).toString('hex')}"`;
    for (const verb of ['run', 'reconcile'])
      expect(readFileSync(join(dir, 'dist', 'bundle', 'verbs', `${verb}.cjs`), 'latin1')).toContain(entry);
  });

  it('writes no cache with POCKER_CODE_CACHE=off, nor where the bundle dir is read-only, and runs all the same', () => {
    rmSync(cacheDir, { recursive: true, force: true });
    expect(pocker(['--version'], { POCKER_CODE_CACHE: 'off' }).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(readdirSync(join(dir, 'dist', 'bundle'))).not.toContain('code-cache');

    // Root ignores mode bits: a cache path whose parent is a file cannot be created by anyone.
    writeFileSync(cacheDir, 'not a dir');
    try {
      expect(pocker(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      expect(pocker(['--version']).stderr).toBe('');
    } finally {
      chmodSync(cacheDir, 0o644);
      rmSync(cacheDir, { force: true });
    }
  });

  // scripts/setup-tests.sh installs npm's node-linux-ARCH packages of these versions.
  const otherNodes = ['22', '24'].map((v) => ({
    v,
    node: join('/var/lib/pocker-test-cache/node', v, 'node_modules', `node-linux-${process.arch}`, 'bin', 'node'),
  }));
  for (const { v, node } of otherNodes) {
    const present = existsSync(node);
    if (!present && process.env.CI === 'true') throw new Error(`Node ${v} missing at ${node}: scripts/setup-tests.sh installs it`);
    it.skipIf(!present)(`runs on Node ${v} too, with a code cache of its own`, () => {
      const run = (args: string[]) => spawnSync(node, [join(dir, 'bin', 'pocker'), ...args], { encoding: 'utf8' });
      const version = spawnSync(node, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();
      expect(version.startsWith(`v${v}.`)).toBe(true);
      rmSync(cacheDir, { recursive: true, force: true });
      expect(pocker(['validate', join(dir, 'specs', 'web.yaml')]).stdout).toContain('ok: 1 container spec(s)');
      for (let i = 0; i < 2; i++) {
        const r = run(['validate', join(dir, 'specs', 'web.yaml')]);
        expect(r.stderr).toBe('');
        expect(r.stdout).toContain('ok: 1 container spec(s)');
      }
      expect(run(['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
      // One cache for the suite's Node, one for this one: neither replaced the other.
      expect(caches('validate')).toHaveLength(2);
    });
  }

  it('carries the yaml library and the precompiled schema validators: validate needs no node_modules', () => {
    const ok = pocker(['validate', join(dir, 'specs', 'web.yaml')]);
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('ok: 1 container spec(s)');

    writeFileSync(join(dir, 'specs', 'bad.yaml'), 'image:\n  layers: [/srv/layers/base]\ncommand: [sleep, "1"]\nrestart: sometimes\n');
    const bad = pocker(['validate', join(dir, 'specs', 'bad.yaml')]);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/bad\.yaml:4:\d+: .*restart/);
  });
});
