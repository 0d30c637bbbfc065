import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

const bin = join(packageRoot(), 'bin', 'pocker');
const pocker = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });
const dir = mkdtempSync(join(tmpdir(), 'pocker-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('pocker CLI', () => {
  it('prints help for every command, naming its options and defaults', () => {
    const main = pocker('--help');
    expect(main.status).toBe(0);
    for (const word of [
      'reconcile',
      '--once',
      'ps',
      'validate',
      'down',
      '--dir DIR',
      '/etc/pocker.d',
      '/run/pocker',
      '/var/lib/pocker',
      '--cgroup-parent',
    ])
      expect(main.stdout).toContain(word);
    for (const cmd of [
      'reconcile',
      'plan',
      'ps',
      'inspect',
      'logs',
      'exec',
      'restart',
      'status',
      'validate',
      'down',
      'network',
      'instance',
    ]) {
      const r = pocker(cmd, '--help');
      expect(r.status, cmd).toBe(0);
      expect(r.stdout).toContain(`Usage: pocker ${cmd}`);
    }
    expect(pocker('reconcile', '--help').stdout).toMatch(/--dry-run[\s\S]*--allow-empty/);
  });

  it('rejects unknown commands and options with exit 2 and a pointer to --help', () => {
    const r = pocker('frobnicate');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('unknown command "frobnicate"');
    const o = pocker('ps', '--bogus');
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/--bogus.*see pocker ps --help/);
    const w = pocker('reconcile', '--dry-run');
    expect(w.status).toBe(2);
    expect(w.stderr).toContain('--dry-run needs --once');
    expect(pocker('ps', '--cgroup-parent', '../x').status).toBe(1);
  });

  it('validates files host-independently: errors as file:line:col, exit 1; valid specs exit 0', () => {
    const good = join(dir, 'good.yaml');
    const bad = join(dir, 'bad.yaml');
    writeFileSync(good, 'image: {layers: [/nowhere/at/all]}\ncommand: [x]\n');
    writeFileSync(bad, 'image: {layers: [/l]}\ncommand: [x]\nresources:\n  memory: 12XB\n');
    const ok = pocker('validate', good);
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('ok: 1 container spec(s) in 1 file(s)');
    const r = pocker('validate', good, bad);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain(`${bad}:4:11: resources.memory must be a quantity`);
    const d = pocker('validate', '--dir', dir);
    expect(d.status).toBe(1);
    const missing = pocker('validate', good, join(dir, 'missing.yaml'));
    expect(missing.status).toBe(1);
    expect(missing.stdout).toContain(`${join(dir, 'missing.yaml')}:1:1: no such file`);
    expect(missing.stdout).toContain('1 error(s) in 1 of 2 file(s)');
  });

  it('warns in validate about host networking', () => {
    const f = join(dir, 'hostnet.yml');
    writeFileSync(f, 'image: {layers: [/l]}\ncommand: [x]\nnetwork: {mode: host}\n');
    const r = pocker('validate', f);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("shares the host's network namespace");
  });

  it('dry-runs a plan without touching anything', () => {
    const specs = mkdtempSync(join(dir, 'specs-'));
    writeFileSync(join(specs, 'web.yaml'), 'image: {layers: [/l]}\ncommand: [x]\n');
    const state = join(dir, 'state-never-created');
    const r = pocker(
      'reconcile',
      '--once',
      '--dry-run',
      '--dir',
      specs,
      '--state-dir',
      state,
      '--data-dir',
      join(dir, 'data'),
      '--cgroup-parent',
      'pocker-cli-dry',
      '--log-level',
      'silent',
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/create\s+web\s+planned\s+new spec/);
    expect(spawnSync('test', ['-e', state]).status).toBe(1);
  });

  it('reads the instance config, flags overriding it; a bad config is an error at file:line:col', () => {
    const cfg = join(dir, 'pocker.yaml');
    writeFileSync(
      cfg,
      `stateDir: ${join(dir, 'cfg-state')}\ndataDir: ${join(dir, 'cfg-data')}\ncgroupParent: from-config\ntimeouts:\n  cni: 5s\nuserns: {pool: pocker-b}\n`,
    );
    const show = pocker('instance', 'show', '--config', cfg, '--cgroup-parent', 'from-flag');
    expect(show.status, show.stderr).toBe(0);
    expect(JSON.parse(show.stdout)).toMatchObject({
      config: cfg,
      given: { stateDir: join(dir, 'cfg-state'), dataDir: join(dir, 'cfg-data'), cgroupParent: 'from-flag' },
      recorded: null,
      timeouts: { cniMs: 5000, monitorMs: 10_000 },
      usernsPool: 'pocker-b',
    });
    writeFileSync(cfg, 'stateDir: /run/x\ntimeouts:\n  cnii: 5s\n');
    const bad = pocker('ps', '--config', cfg);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toContain(`${cfg}:3:3: unknown key "cnii" in timeouts; did you mean "cni"?`);
    writeFileSync(cfg, 'timeouts: {monitor: 10 seconds}\n');
    expect(pocker('ps', '--config', cfg).stderr).toMatch(new RegExp(`${cfg}:1:21: timeouts.monitor "10 seconds" is not a duration`));
    expect(pocker('ps', '--config', join(dir, 'missing.yaml')).stderr).toMatch(
      /missing\.yaml:1:1: cannot read the instance config: ENOENT/,
    );
  });

  it('refuses a command whose directories disagree with the instance its data dir belongs to', () => {
    const data = mkdtempSync(join(dir, 'data-'));
    writeFileSync(
      join(data, 'instance.json'),
      JSON.stringify({ version: 1, stateDir: '/run/pocker-elsewhere', dataDir: data, cgroupParent: 'pocker', createdAtMs: 1 }),
    );
    const r = pocker('ps', '--data-dir', data, '--state-dir', join(dir, 'mine'));
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /INSTANCE_MISMATCH: data dir .* belongs to the instance of --state-dir \/run\/pocker-elsewhere .*this command was given --state-dir .*mine/,
    );
    const show = pocker('instance', 'show', '--data-dir', data, '--state-dir', join(dir, 'mine'));
    expect(show.status).toBe(1);
    expect(JSON.parse(show.stdout)).toMatchObject({ agree: false, recorded: { stateDir: '/run/pocker-elsewhere' } });
  });
});
