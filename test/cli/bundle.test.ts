import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

const root = packageRoot();
const copy = mkdtempSync(join(tmpdir(), 'pocker-bundle-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

/** A checkout holding only what bin/pocker needs from the build: no node_modules, no per-module output. */
function bundleOnlyCheckout(): string {
  for (const part of ['bin', 'schema', 'package.json', join('dist', 'bundle'), join('dist', 'schema')])
    cpSync(join(root, part), join(copy, part), { recursive: true });
  mkdirSync(join(copy, 'specs'));
  return copy;
}

describe('the CLI bundle', () => {
  const dir = bundleOnlyCheckout();
  const pocker = (...args: string[]) => spawnSync(process.execPath, [join(dir, 'bin', 'pocker'), ...args], { encoding: 'utf8' });

  it('is what bin/pocker runs, split into the parts each verb loads', () => {
    expect(readdirSync(join(dir, 'dist', 'bundle'))).toContain('pocker.mjs');
    expect(readdirSync(join(dir, 'dist', 'bundle', 'chunks')).filter((f) => f.endsWith('.mjs')).length).toBeGreaterThan(10);
    expect(pocker('--version').stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it('carries the yaml library and the precompiled schema validators: validate needs no node_modules', () => {
    writeFileSync(join(dir, 'specs', 'web.yaml'), 'image:\n  layers: [/srv/layers/base]\ncommand: [sleep, "1"]\n');
    const ok = pocker('validate', join(dir, 'specs', 'web.yaml'));
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toContain('ok: 1 container spec(s)');

    writeFileSync(join(dir, 'specs', 'bad.yaml'), 'image:\n  layers: [/srv/layers/base]\ncommand: [sleep, "1"]\nrestart: sometimes\n');
    const bad = pocker('validate', join(dir, 'specs', 'bad.yaml'));
    expect(bad.status).toBe(1);
    expect(bad.stdout).toMatch(/bad\.yaml:4:\d+: .*restart/);
  });
});
