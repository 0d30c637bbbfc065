import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mainHelp } from '../../reconciler/cli/dispatch.js';
import { CONVERT_HELP, runConvert } from '../../reconciler/cli/convert.js';
import { UsageError } from '../../reconciler/cli/options.js';
import { NodeComposeFiles } from '../../reconciler/convert/files.js';
import { packageRoot } from '../../reconciler/native.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const CLEAN = `name: tiny
services:
  web:
    image: nginx:1.27
    ports: ["8080:80"]
    depends_on:
      app: {condition: service_healthy}
  app:
    image: ghcr.io/example/app:2
    healthcheck: {test: ["CMD", "/app", "health"]}
`;

describe('pocker convert', () => {
  let dir: string;
  let out: { stdout: string; stderr: string };
  const convert = (...args: string[]) => {
    out = { stdout: '', stderr: '' };
    return runConvert(args, {
      cwd: dir,
      env: { STRIPE_KEY: 'k', HOME: '/home/ops' },
      files: new NodeComposeFiles(),
      stdout: (t) => (out.stdout += t),
      stderr: (t) => (out.stderr += t),
    });
  };
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-convert-cli-'));
    writeFileSync(join(dir, 'compose.yaml'), CLEAN);
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('prints every spec on stdout, separated by ---, without -o and with -o -', () => {
    expect(convert('compose.yaml')).toBe(0);
    const docs = out.stdout.split(/^---\n/m);
    expect(docs).toHaveLength(2);
    const parsed = docs.map((d, i) => parseSpecFile(d, `doc${i}`, { dir, file: `doc${i}.yaml` }));
    expect(parsed.flatMap((p) => p.errors.map(formatSpecError))).toEqual([]);
    expect(parsed.map((p) => p.specs[0]!.spec.name)).toEqual(['web', 'app']);
    expect(out.stderr.split('\n')).toEqual([
      expect.stringMatching(/^note: \(top-level\): networks\.default: the specs use CNI network "tiny_default": /),
      'converted 2 service(s) of project tiny to stdout: 0 not converted, 1 note(s)',
      '',
    ]);
    const first = out.stdout;
    expect(convert('compose.yaml', '-o', '-')).toBe(0);
    expect(out.stdout).toBe(first);
    expect(readdirSync(dir)).toEqual(['compose.yaml']);
  });

  it('writes <service>.yaml files into -o DIR that pocker validate accepts, refusing to overwrite unless --force', () => {
    expect(convert('compose.yaml', '-o', 'specs')).toBe(0);
    const specs = join(dir, 'specs');
    expect(readdirSync(specs).sort()).toEqual(['app.yaml', 'web.yaml']);
    const load = loadSpecDir(specs);
    expect(load.errors.map(formatSpecError)).toEqual([]);
    expect(load.desired.find((d) => d.spec.name === 'web')!.spec.dependsOn).toEqual([
      { name: 'app', condition: 'healthy', restartWith: false },
    ]);
    expect(readFileSync(join(specs, 'web.yaml'), 'utf8')).toMatch(
      /^# Converted by pocker convert from .*compose\.yaml, service "web" of project "tiny"\.\n/,
    );

    writeFileSync(join(specs, 'web.yaml'), 'mine\n');
    rmSync(join(specs, 'app.yaml'));
    expect(convert('compose.yaml', '-o', 'specs')).toBe(1);
    expect(out.stderr).toContain(`${join(specs, 'web.yaml')}:1:1: exists (--force overwrites it)\nerror: OUTPUT: nothing written\n`);
    expect(readFileSync(join(specs, 'web.yaml'), 'utf8')).toBe('mine\n');
    expect(existsSync(join(specs, 'app.yaml'))).toBe(false);

    writeFileSync(join(dir, 'compose.yaml'), 'services:\n  compose:\n    image: nginx\n');
    expect(convert('compose.yaml', '-o', '.', '--force')).toBe(1);
    expect(out.stderr).toContain('would replace the compose file itself');
    writeFileSync(join(dir, 'compose.yaml'), CLEAN);
    expect(convert('compose.yaml', '--output', specs, '--force')).toBe(0);
    expect(readFileSync(join(specs, 'web.yaml'), 'utf8')).toContain('name: web');
    expect(readdirSync(specs).sort()).toEqual(['app.yaml', 'web.yaml']);
  });

  it('--strict exits 1 and writes nothing when anything is not converted; findings go to stderr one per line', () => {
    writeFileSync(join(dir, 'compose.yaml'), `${CLEAN}    labels: {a: b}\n    logging: {driver: none}\n`);
    expect(convert('compose.yaml', '-o', 'specs', '--strict')).toBe(1);
    expect(out.stderr.split('\n').slice(0, 2)).toEqual([
      'app: labels: pocker specs have no labels',
      "app: logging: pocker keeps each container's output in its own rotated log (pocker logs); log drivers are not supported",
    ]);
    expect(out.stderr).toContain('--strict: 2 thing(s) above not converted\nerror: STRICT: nothing written\n');
    expect(existsSync(join(dir, 'specs'))).toBe(false);
    expect(convert('compose.yaml', '-o', 'specs')).toBe(0);
    expect(readdirSync(join(dir, 'specs'))).toHaveLength(2);
    writeFileSync(join(dir, 'compose.yaml'), CLEAN);
    expect(convert('compose.yaml', '--strict', '-o', 'strict')).toBe(0);
  });

  it('exits 1 with file:line:col for a compose file that cannot be read or is invalid', () => {
    writeFileSync(join(dir, 'bad.yaml'), 'services:\n  web:\n    image: nginx\n    image: httpd\n');
    expect(convert('bad.yaml')).toBe(1);
    expect(out.stderr).toBe(`${join(dir, 'bad.yaml')}:4:5: Map keys must be unique\nerror: YAML: nothing written\n`);
    expect(convert('missing.yaml')).toBe(1);
    expect(out.stderr).toBe(`${join(dir, 'missing.yaml')}:1:1: no such file\nerror: READ: nothing written\n`);
    writeFileSync(join(dir, 'build.yaml'), 'services:\n  app:\n    build: .\n');
    expect(convert('build.yaml')).toBe(1);
    expect(out.stderr).toMatch(/^app: build: .*\n.*no service could be converted.*\nerror: NOTHING: nothing written\n$/);
    expect(out.stdout).toBe('');
  });

  it('converts the shop fixture into a dir pocker validate accepts, with the notes the operator needs', () => {
    cpSync(join(import.meta.dirname, 'fixtures', 'shop'), join(dir, 'shop'), { recursive: true });
    expect(convert('shop/compose.yaml', '-o', 'out')).toBe(0);
    expect(loadSpecDir(join(dir, 'out')).errors.map(formatSpecError)).toEqual([]);
    expect(readFileSync(join(dir, 'out', 'api.yaml'), 'utf8')).toContain(
      'secrets:\n  - name: db_password\n    mode: "0444"\n  - name: stripe_key\n    target: /run/secrets/stripe\n    mode: "0400"\n',
    );
    expect(readFileSync(join(dir, 'out', 'proxy.yaml'), 'utf8')).toContain(
      `files:\n  - target: /etc/nginx/conf.d/default.conf\n    source: ${join(dir, 'shop/nginx/default.conf')}\n    mode: "0444"\n`,
    );
    expect(out.stderr).toContain(
      `note: (top-level): secrets.db_password: pocker reads its value from /etc/pocker/secrets/db_password (the default secrets dir; --secrets-dir or the instance config can name another): as root, install -D -m 0400 -o root -g root ${join(dir, 'shop/secrets/db_password.txt')} /etc/pocker/secrets/db_password\n`,
    );
    expect(out.stderr).toContain('note: (top-level): secrets.stripe_key: pocker reads its value from /etc/pocker/secrets/stripe_key');
    expect(out.stderr).toMatch(/converted 6 service\(s\) of project shop to .*\/out: 6 not converted, \d+ note\(s\)\n$/);
  });

  it('prints the notes (what the operator must do, such as putting each secret in place) after the specs are written; --strict does not count them', () => {
    writeFileSync(join(dir, 'token.txt'), 'never printed\n');
    writeFileSync(
      join(dir, 'compose.yaml'),
      'name: sec\nservices:\n  app:\n    image: busybox\n    secrets: [token, stripe]\nsecrets:\n  token:\n    file: ./token.txt\n  stripe:\n    environment: STRIPE_KEY\n',
    );
    const events: string[] = [];
    out = { stdout: '', stderr: '' };
    const code = runConvert(['compose.yaml', '--strict'], {
      cwd: dir,
      env: { STRIPE_KEY: 'sk-never-printed', HOME: '/home/ops' },
      files: new NodeComposeFiles(),
      stdout: (t) => events.push(`stdout ${t.split('\n')[0]}`),
      stderr: (t) => events.push(`stderr ${t}`),
    });
    expect(code).toBe(0);
    expect(events).toEqual([
      'stdout # Converted by pocker convert from ' + join(dir, 'compose.yaml') + ', service "app" of project "sec".',
      expect.stringMatching(/^stderr note: \(top-level\): networks\.default: /),
      expect.stringMatching(
        /^stderr note: \(top-level\): secrets\.token: .*: as root, install -D -m 0400 -o root -g root \S+\/token\.txt \/etc\/pocker\/secrets\/token\n$/,
      ),
      expect.stringMatching(/^stderr note: \(top-level\): secrets\.stripe: .*: write the value of the variable STRIPE_KEY .*\n$/),
      'stderr converted 1 service(s) of project sec to stdout: 0 not converted, 3 note(s)\n',
    ]);
    expect(events.join('')).not.toMatch(/never-printed|never printed/);

    writeFileSync(
      join(dir, 'compose.yaml'),
      'name: sec\nservices:\n  app:\n    image: busybox\n    labels: {a: b}\n    secrets: [token]\nsecrets:\n  token:\n    file: ./token.txt\n',
    );
    expect(convert('compose.yaml', '--strict', '-o', 'specs')).toBe(1);
    expect(out.stderr).not.toContain('note:');
    expect(out.stderr).toContain('error: STRICT: nothing written\n');
    expect(existsSync(join(dir, 'specs'))).toBe(false);
  });

  it('takes its usage as the help says, usage errors for the CLI to exit 2 on', () => {
    expect(convert('--help')).toBe(0);
    expect(out.stdout).toBe(`${CONVERT_HELP}\n`);
    for (const words of [
      'Usage: pocker convert COMPOSE_FILE',
      '-o, --output DIR',
      '--force',
      '--strict',
      'SERVICE: FIELD: why',
      'Exit status',
    ])
      expect(CONVERT_HELP).toContain(words);
    expect(() => convert()).toThrow(UsageError);
    expect(() => convert('a.yaml', 'b.yaml')).toThrow(UsageError);
    expect(() => convert('compose.yaml', '--bogus')).toThrow(UsageError);
    expect(() => convert('compose.yaml', '-o', '')).toThrow(UsageError);
    const main = readFileSync(join(packageRoot(), 'reconciler', 'cli', 'main.ts'), 'utf8');
    expect(main).toContain("convert: () => import('./convert.js')");
    expect(mainHelp()).toMatch(/\n {2}convert FILE {7}turn a docker compose file into spec files/);
  });
});
