import { describe, expect, it } from 'vitest';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { isContainerName } from '../../reconciler/spec/names.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const SRC = { dir: '/specs', file: 'web.yaml' };
const parse = (text: string, file = 'web.yaml') => parseSpecFile(text, `/specs/${file}`, { ...SRC, file });
const errorsOf = (text: string, file?: string) => parse(text, file).errors.map(formatSpecError);

const VALID = `name: web
image:
  layers: [/layers/busybox]
command: [httpd, -f]
`;

describe('parseSpecFile', () => {
  it('accepts a minimal spec and fills defaults outside the user spec', () => {
    const r = parse(VALID);
    expect(r.errors).toEqual([]);
    expect(r.specs).toHaveLength(1);
    const s = r.specs[0]!;
    expect(s.user).toEqual({ name: 'web', image: { layers: ['/layers/busybox'] }, command: ['httpd', '-f'] });
    expect(s.spec).toMatchObject({
      hostname: 'web',
      workingDir: '/',
      restart: 'always',
      stopGracePeriodMs: 10_000,
      network: { mode: 'none' },
      env: {},
      mounts: [],
    });
    expect(s.source).toEqual({ dir: '/specs', file: 'web.yaml', doc: 0 });
    expect(s.hash).toMatch(/^[0-9a-f]{16}$/);
  });

  it('defaults the name to the file basename', () => {
    const r = parse(VALID.replace('name: web\n', ''), 'cache.yml');
    expect(r.specs[0]!.spec.name).toBe('cache');
  });

  it('refuses a basename that is not a DNS label', () => {
    expect(errorsOf(VALID.replace('name: web\n', ''), 'My_Web.yaml')).toEqual([
      expect.stringMatching(/^\/specs\/My_Web\.yaml:1:1: .*"My_Web".*add a "name" key/),
    ]);
  });

  it('normalizes quantities, cpusets and durations', () => {
    const r = parse(
      `${VALID}resources: {cpus: 0.5, cpuset: "1,0", memory: 64Mi, memsw: 100M, pids: 64}\nstopGracePeriod: 1m30s\nenv: {B: "2", A: "1"}\n`,
    );
    expect(r.errors).toEqual([]);
    expect(r.specs[0]!.user.resources).toEqual({ cpus: 0.5, cpuset: '0-1', memory: 67108864, memsw: 100_000_000, pids: 64 });
    expect(r.specs[0]!.user.stopGracePeriodMs).toBe(90_000);
    expect(Object.keys(r.specs[0]!.user.env!)).toEqual(['A', 'B']);
  });

  it('points at the line and column of an unknown key and suggests the right one', () => {
    expect(errorsOf(`${VALID}resources:\n  memroy: 64Mi\n`)).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:6:3: unknown key "memroy" in resources; did you mean "memory"\?/),
    ]);
  });

  it('derives the known keys from the schema, in every section: resources.cpuShares and io, network.name and ports', () => {
    expect(errorsOf(`${VALID}resources:\n  cpuShare: 512\n`)).toEqual([
      expect.stringMatching(/unknown key "cpuShare" in resources; did you mean "cpuShares"\?.*known keys in resources: .*\bio\b/),
    ]);
    expect(errorsOf(`${VALID}network:\n  mode: bridge\n  port: []\n`)).toEqual([
      expect.stringMatching(/unknown key "port" in network; did you mean "ports"\?.*\bname\b/),
    ]);
  });

  it('has one container name rule: the schema accepts exactly what isContainerName accepts', () => {
    const names = ['a', 'web', 'web-1', '1a', 'a'.repeat(63), 'a'.repeat(64), '-a', 'a-', 'A', 'a_b', 'a.b', '', 'db-0-x'];
    for (const n of names) {
      const schemaOk = !errorsOf(VALID.replace('name: web', `name: "${n}"`)).some((e) => /name/.test(e));
      expect([n, schemaOk]).toEqual([n, isContainerName(n)]);
    }
  });

  it('reports YAML syntax errors with their position', () => {
    const errs = errorsOf('name: web\ncommand: [a, b\nimage: {}\n');
    expect(errs.length).toBeGreaterThan(0);
    expect(errs[0]).toMatch(/^\/specs\/web\.yaml:\d+:\d+: /);
  });

  it('reports wrong types and bad values at the value', () => {
    expect(errorsOf(`${VALID}resources:\n  memory: lots\n`)).toEqual([
      expect.stringMatching(/:6:11: resources\.memory must be a quantity/),
    ]);
    expect(errorsOf(`${VALID}resources:\n  cpus: "half"\n`)).toEqual([expect.stringMatching(/:6:9: resources\.cpus must be a number/)]);
    expect(errorsOf(`${VALID}restart: sometimes\n`)).toEqual([
      expect.stringMatching(/:5:10: restart must be one of "always", "on-failure", "never"/),
    ]);
    expect(errorsOf(VALID.replace('command: [httpd, -f]', 'command: "httpd -f"'))).toEqual([
      expect.stringMatching(/:4:10: command must be a list/),
    ]);
    expect(errorsOf(VALID.replace('command: [httpd, -f]', 'command: []'))).toEqual([expect.stringMatching(/command must not be empty/)]);
  });

  it('reports missing required keys', () => {
    expect(errorsOf('name: web\ncommand: [sh]\n')).toEqual([expect.stringMatching(/:1:1: missing required key "image"/)]);
    expect(errorsOf('name: web\nimage: {layers: [/l]}\n')).toEqual([
      expect.stringMatching(/:2:8: image\.layers has no image config to take a command from: give command/),
    ]);
  });

  it('enforces memsw >= memory and memsw needing memory', () => {
    expect(errorsOf(`${VALID}resources: {memory: 64Mi, memsw: 32Mi}\n`)).toEqual([
      expect.stringMatching(/memsw \(32Mi\) must be at least memory \(64Mi\)/),
    ]);
    expect(errorsOf(`${VALID}resources: {memsw: 64Mi}\n`)).toEqual([expect.stringMatching(/memsw needs memory/)]);
    expect(parse(`${VALID}resources: {memory: 64Mi, memsw: unlimited}\n`).specs[0]!.user.resources!.memsw).toBe('unlimited');
  });

  it('enforces ranges', () => {
    expect(errorsOf(`${VALID}resources: {memory: 1Mi}\n`)).toEqual([expect.stringMatching(/memory must be at least 4Mi/)]);
    expect(errorsOf(`${VALID}resources: {cpus: 0}\n`)).toEqual([expect.stringMatching(/cpus must be at least 0\.01/)]);
    expect(errorsOf(`${VALID}resources: {pids: 0}\n`)).toEqual([expect.stringMatching(/pids must be at least 1/)]);
  });

  it('rejects unclean paths', () => {
    expect(errorsOf(VALID.replace('/layers/busybox', '/layers/../etc'))).toEqual([expect.stringMatching(/contains "\.\."/)]);
    expect(errorsOf(VALID.replace('/layers/busybox', 'layers/busybox'))).toEqual([expect.stringMatching(/absolute path/)]);
    expect(errorsOf(VALID.replace('/layers/busybox', '/layers/a:b'))).toEqual([expect.stringMatching(/overlayfs cannot take/)]);
    expect(errorsOf(`${VALID}mounts: [{source: /srv, target: /}]\n`)).toEqual([
      expect.stringMatching(/cannot mount over the container root/),
    ]);
    expect(errorsOf(`${VALID}mounts: [{source: /srv, target: /proc/x}]\n`)).toEqual([expect.stringMatching(/inside \/proc/)]);
  });

  it('accepts bridge networking, and its fields only with it', () => {
    expect(errorsOf(`${VALID}network: {mode: bridge, name: lan}\n`)).toEqual([]);
    expect(errorsOf(`${VALID}network: {mode: host, name: lan}\n`)).toEqual([
      expect.stringMatching(/:5:\d+: network\.name needs network\.mode bridge \(mode is host\)/),
    ]);
  });

  it('requires names in multi-document files and rejects duplicates inside a file', () => {
    expect(errorsOf(`${VALID}---\n${VALID.replace('name: web\n', '')}`)).toEqual([
      expect.stringMatching(/:6:1: this file holds several documents: each needs a "name"/),
    ]);
    expect(errorsOf(`${VALID}---\n${VALID}`)).toEqual([expect.stringMatching(/:6:7: name "web" is already used by document 1/)]);
    const two = parse(`${VALID}---\n${VALID.replace('name: web', 'name: db')}`);
    expect(two.specs.map((s) => [s.spec.name, s.source.doc])).toEqual([
      ['web', 0],
      ['db', 1],
    ]);
  });

  it('rejects alias bombs quickly', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 0; i < 8; i++)
      bomb.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)},*${String.fromCharCode(97 + i)}]`,
      );
    const t0 = Date.now();
    const errs = errorsOf(bomb.join('\n'));
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(errs[0]).toMatch(/alias/i);
  });

  it('ignores empty documents', () => {
    expect(parse(`---\n${VALID}---\n`).specs).toHaveLength(1);
    expect(parse('# nothing here\n').specs).toHaveLength(0);
  });

  it('hashes only what the user wrote: a default spelled out changes the hash, reordering does not', () => {
    const a = parse(`${VALID}env: {A: "1", B: "2"}\n`).specs[0]!;
    const b = parse(`env: {B: "2", A: "1"}\n${VALID}`).specs[0]!;
    expect(a.hash).toBe(b.hash);
    const c = parse(`${VALID}resources: {memory: 64Mi}\n`).specs[0]!;
    const d = parse(`${VALID}resources: {memory: 67108864}\n`).specs[0]!;
    expect(c.hash).toBe(d.hash);
    expect(parse(`${VALID}restart: always\n`).specs[0]!.hash).not.toBe(parse(VALID).specs[0]!.hash);
  });
});
