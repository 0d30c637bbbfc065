import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recreateFields } from '../../reconciler/plan/plan.js';
import { canonicalCidr, effectiveRules, normalizeRules } from '../../reconciler/spec/firewall.js';
import { loadSpecFiles } from '../../reconciler/spec/load.js';
import type { PathError } from '../../reconciler/spec/normalize.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { schemaDocument } from '../../reconciler/spec/schemaValidator.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const base = 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n';
const parse = (text: string) => parseSpecFile(text, '/d/web.yaml', { dir: '/d', file: 'web.yaml' });
/** The one spec of a text that must parse. */
const ok = (text: string) => {
  const r = parse(text);
  expect(r.errors.map(formatSpecError)).toEqual([]);
  return r.specs[0]!;
};
/** The formatted errors of a text that must not parse. */
const bad = (text: string): string[] => {
  const r = parse(text);
  const errors = r.errors.map(formatSpecError);
  expect(errors, 'the spec must be refused').not.toEqual([]);
  expect(r.specs).toEqual([]);
  return errors;
};
/** A bridge spec with these rules (flow YAML for each direction given). */
const bridge = (rules: { ingress?: string; egress?: string }, mode = 'bridge'): string =>
  `${base}network:\n  mode: ${mode}\n${rules.ingress !== undefined ? `  ingress: ${rules.ingress}\n` : ''}${rules.egress !== undefined ? `  egress: ${rules.egress}\n` : ''}`;

describe('the schema of the rules', () => {
  it('compiles in ajv strict mode, as `npm run build` and a run from sources without a build compile it', () => {
    const Ajv2020 = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const AjvClass = (Ajv2020 as unknown as { default: typeof Ajv2020.default }).default ?? Ajv2020;
    expect(() => new AjvClass({ allErrors: true, strict: true }).compile(schemaDocument('container.v1'))).not.toThrow();
  });
});

describe('canonicalCidr', () => {
  it('clears host bits and gives /32 to a bare address', () => {
    expect(canonicalCidr('10.1.2.3/8')).toBe('10.0.0.0/8');
    expect(canonicalCidr('10.0.0.5')).toBe('10.0.0.5/32');
    expect(canonicalCidr('10.0.0.5/32')).toBe('10.0.0.5/32');
    expect(canonicalCidr('192.168.77.200/24')).toBe('192.168.77.0/24');
    expect(canonicalCidr('192.168.77.200/25')).toBe('192.168.77.128/25');
    expect(canonicalCidr('172.31.255.255/12')).toBe('172.16.0.0/12');
    expect(canonicalCidr('255.255.255.255/31')).toBe('255.255.255.254/31');
    expect(canonicalCidr('255.255.255.255')).toBe('255.255.255.255/32');
    expect(canonicalCidr('1.2.3.4/0')).toBe('0.0.0.0/0');
    expect(canonicalCidr('0.0.0.0/0')).toBe('0.0.0.0/0');
    expect(canonicalCidr('10.200.3.4/9')).toBe('10.128.0.0/9');
  });

  it('is idempotent', () => {
    for (const s of ['10.1.2.3/8', '10.0.0.5', '203.0.113.77/27', '1.2.3.4/0', '128.0.0.1/1']) {
      const once = canonicalCidr(s)!;
      expect(canonicalCidr(once)).toBe(once);
    }
  });

  it('refuses what is not an IPv4 address or CIDR', () => {
    for (const s of [
      '256.0.0.1',
      '10.0.0.0/33',
      '10.0.0/8',
      '10.0.0.0.0',
      '10.0.0.0/',
      '/8',
      '10.0.0.0/8/8',
      '1.2.3.4 ',
      ' 1.2.3.4',
      'fd00::/8',
      '::1',
      'a.b.c.d',
      '10.0.0.-1',
      '10.0.0.1/-1',
      '10.0.0.1/100',
      '1234.0.0.1',
      '',
      'web',
    ])
      expect(canonicalCidr(s), s).toBeNull();
  });
});

describe('normalizeRules and effectiveRules', () => {
  it('keeps the rules in canonical form, locating each problem', () => {
    const errors: PathError[] = [];
    const rules = normalizeRules(
      [{ from: 'web' }, { from: '10.1.2.3/8', ports: [80, '8000-8100', '443-443', '053'], protocol: 'udp' }],
      'ingress',
      errors,
    );
    expect(errors).toEqual([]);
    expect(rules).toEqual([{ peer: 'web' }, { peer: '10.0.0.0/8', ports: [80, '8000-8100', 443, 53], protocol: 'udp' }]);
    expect(effectiveRules(rules)).toEqual([
      { peer: { name: 'web' }, ports: [], protocol: null },
      {
        peer: { cidr: '10.0.0.0/8' },
        ports: [
          [80, 80],
          [8000, 8100],
          [443, 443],
          [53, 53],
        ],
        protocol: 'udp',
      },
    ]);
  });

  it('reads egress rules from `to`', () => {
    const errors: PathError[] = [];
    expect(normalizeRules([{ to: '192.0.2.9' }], 'egress', errors)).toEqual([{ peer: '192.0.2.9/32' }]);
    expect(errors).toEqual([]);
  });

  it('gives each bad port and peer its own path', () => {
    const errors: PathError[] = [];
    normalizeRules([{ to: 'ok' }, { to: 'Bad_Name', ports: [0, 80, 70000, '9-3', 'x'] }], 'egress', errors);
    expect(errors.map((e) => e.path)).toEqual([
      ['network', 'egress', 1, 'to'],
      ['network', 'egress', 1, 'ports', 0],
      ['network', 'egress', 1, 'ports', 2],
      ['network', 'egress', 1, 'ports', 3],
      ['network', 'egress', 1, 'ports', 4],
    ]);
  });

  it('fills in tcp where ports are given without a protocol, null (any) without ports', () => {
    expect(
      effectiveRules([{ peer: 'a', ports: [80] }, { peer: 'b' }, { peer: 'c', protocol: 'icmp' }, { peer: 'd', protocol: 'udp' }]),
    ).toEqual([
      { peer: { name: 'a' }, ports: [[80, 80]], protocol: 'tcp' },
      { peer: { name: 'b' }, ports: [], protocol: null },
      { peer: { name: 'c' }, ports: [], protocol: 'icmp' },
      { peer: { name: 'd' }, ports: [], protocol: 'udp' },
    ]);
    expect(effectiveRules(undefined)).toEqual([]);
  });
});

describe('network.ingress and network.egress in a spec file', () => {
  it('keeps CIDRs canonical in the user spec and the effective spec', () => {
    const d = ok(bridge({ ingress: '[{from: 10.1.2.3/8}, {from: 10.0.0.5}]', egress: '[{to: 192.0.2.77/24, ports: [443]}]' }));
    expect(d.user.network).toEqual({
      mode: 'bridge',
      ingress: [{ peer: '10.0.0.0/8' }, { peer: '10.0.0.5/32' }],
      egress: [{ peer: '192.0.2.0/24', ports: [443] }],
    });
    expect(d.spec.network.ingress).toEqual([
      { peer: { cidr: '10.0.0.0/8' }, ports: [], protocol: null },
      { peer: { cidr: '10.0.0.5/32' }, ports: [], protocol: null },
    ]);
    expect(d.spec.network.egress).toEqual([{ peer: { cidr: '192.0.2.0/24' }, ports: [[443, 443]], protocol: 'tcp' }]);
  });

  it('hashes a CIDR as its canonical form: host bits or /32 written out do not change the hash', () => {
    const a = ok(bridge({ ingress: '[{from: 10.1.2.3/8}, {from: 10.0.0.5}]' }));
    const b = ok(bridge({ ingress: '[{from: 10.0.0.0/8}, {from: 10.0.0.5/32}]' }));
    expect(a.hash).toBe(b.hash);
    const c = ok(bridge({ ingress: '[{from: 10.0.0.0/16}, {from: 10.0.0.5/32}]' }));
    expect(c.hash).not.toBe(a.hash);
  });

  it('takes container names as peers, which follow that container', () => {
    const d = ok(bridge({ ingress: '[{from: web}, {from: db-1, ports: [5432]}]', egress: '[{to: cache, protocol: udp}]' }));
    expect(d.spec.network.ingress).toEqual([
      { peer: { name: 'web' }, ports: [], protocol: null },
      { peer: { name: 'db-1' }, ports: [[5432, 5432]], protocol: 'tcp' },
    ]);
    expect(d.spec.network.egress).toEqual([{ peer: { name: 'cache' }, ports: [], protocol: 'udp' }]);
  });

  it('takes port numbers and "lo-hi" ranges, keeping a one-port range as a number', () => {
    const d = ok(bridge({ ingress: '[{from: web, ports: [80, "8000-8100", "443", "9000-9000", 1, 65535, "1-65535"]}]' }));
    expect(d.user.network?.ingress).toEqual([{ peer: 'web', ports: [80, '8000-8100', 443, 9000, 1, 65535, '1-65535'] }]);
    expect(d.spec.network.ingress[0]!.ports).toEqual([
      [80, 80],
      [8000, 8100],
      [443, 443],
      [9000, 9000],
      [1, 1],
      [65535, 65535],
      [1, 65535],
    ]);
    expect(d.spec.network.ingress[0]!.protocol).toBe('tcp');
    // "443" and 443 are the same port: the same hash.
    expect(ok(bridge({ ingress: '[{from: web, ports: ["443"]}]' })).hash).toBe(ok(bridge({ ingress: '[{from: web, ports: [443]}]' })).hash);
  });

  it('defaults the protocol to tcp with ports and to any protocol without', () => {
    const d = ok(bridge({ egress: '[{to: a, ports: [53]}, {to: b}, {to: c, ports: [53], protocol: udp}, {to: d, protocol: icmp}]' }));
    expect(d.spec.network.egress.map((r) => r.protocol)).toEqual(['tcp', null, 'udp', 'icmp']);
    expect(d.user.network?.egress).toEqual([
      { peer: 'a', ports: [53] },
      { peer: 'b' },
      { peer: 'c', ports: [53], protocol: 'udp' },
      { peer: 'd', protocol: 'icmp' },
    ]);
  });

  it('refuses a bad CIDR or name at its line and column', () => {
    for (const peer of ['10.0.0.0/33', '256.1.1.1', 'Web', 'web_1', '-web', '10.0.0.0/8/1', 'fd00::1']) {
      const errors = bad(`${base}network:\n  mode: bridge\n  ingress:\n    - from: "${peer}"\n`);
      expect(errors, peer).toEqual([
        expect.stringMatching(
          new RegExp(
            `^/d/web\\.yaml:6:\\d+: network\\.ingress\\[0\\]\\.from: "${peer.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}" is neither a container name nor an IPv4 address or CIDR`,
          ),
        ),
      ]);
    }
    const egress = bad(`${base}network:\n  mode: bridge\n  egress:\n    - to: ok\n    - to: 1.2.3.4/40\n`);
    expect(egress).toEqual([expect.stringMatching(/^\/d\/web\.yaml:7:\d+: network\.egress\[1\]\.to: "1\.2\.3\.4\/40" is neither/)]);
  });

  /**
   * The one error of a bad port: at its line and column, naming the port rule and the value as
   * written (the schema and the normalizer say it in their own words: `: "0" is not a port` or
   * ` must be a port ..., not number 0`).
   */
  const portError = (line: number, col: number, field: string, j: number, value: string | number) =>
    new RegExp(
      `^/d/web\\.yaml:${line}:${col}: network\\.${field}\\[0\\]\\.ports\\[${j}\\]:? ` +
        `(?=.*${typeof value === 'number' ? `(?:"${value}"|number ${value})(?![0-9])` : `"${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"`})` +
        `.*port \\(1-65535\\) or a range "lo-hi"`,
    );

  it('refuses ports 0, 70000, "9-3" and "x", each at its own line and column', () => {
    for (const p of [0, 70000, '"9-3"', '"x"']) {
      const value = typeof p === 'number' ? p : p.slice(1, -1);
      const errors = bad(`${base}network:\n  mode: bridge\n  ingress:\n    - from: web\n      ports:\n        - 80\n        - ${p}\n`);
      expect(errors, String(p)).toEqual([expect.stringMatching(portError(9, 11, 'ingress', 1, value))]);
    }
    // All in one list: every error is at the line of a bad port (never at 80's), the first three at least.
    const errors = bad(
      `${base}network:\n  mode: bridge\n  ingress:\n    - from: web\n      ports:\n        - 0\n        - 80\n        - 70000\n        - "9-3"\n        - "x"\n`,
    );
    expect(errors.filter((e) => /^\/d\/web\.yaml:9:/.test(e))).toEqual([]);
    expect(errors.find((e) => /^\/d\/web\.yaml:8:/.test(e))).toMatch(portError(8, 11, 'ingress', 0, 0));
    expect(errors.find((e) => /^\/d\/web\.yaml:10:/.test(e))).toMatch(portError(10, 11, 'ingress', 2, 70000));
    expect(errors.find((e) => /^\/d\/web\.yaml:12:/.test(e))).toMatch(portError(12, 11, 'ingress', 4, 'x'));
    for (const e of errors) expect(e).toMatch(/^\/d\/web\.yaml:(8|10|11|12):11: network\.ingress\[0\]\.ports\[(0|2|3|4)\]/);
  });

  it('refuses other malformed ports', () => {
    for (const p of ['0-10', '10-70000', '80-', '-80', '80 ', ' 80', '80,81', '1e3', '0x50', '65536', '100000', '0', '99999-100000'])
      expect(bad(bridge({ egress: `[{to: a, ports: ["${p}"]}]` })), p).toEqual([expect.stringMatching(portError(5, 28, 'egress', 0, p))]);
    for (const p of [-1, 65536])
      expect(bad(bridge({ egress: `[{to: a, ports: [${p}]}]` })), String(p)).toEqual([
        expect.stringMatching(portError(5, 28, 'egress', 0, p)),
      ]);
    // Neither a whole number nor a string: the schema refuses it, at the same place.
    for (const p of ['80.5', 'true', '[80]'])
      expect(bad(bridge({ egress: `[{to: a, ports: [${p}]}]` })).join('\n'), p).toMatch(
        /^\/d\/web\.yaml:5:28: network\.egress\[0\]\.ports\[0\]/,
      );
  });

  it('refuses icmp with ports', () => {
    const errors = bad(`${base}network:\n  mode: bridge\n  ingress:\n    - from: web\n      ports: [80]\n      protocol: icmp\n`);
    expect(errors).toEqual([expect.stringMatching(/^\/d\/web\.yaml:7:\d+: network\.ingress\[0\]: icmp has no ports/)]);
    expect(bad(bridge({ egress: '[{to: 10.0.0.0/8, protocol: icmp, ports: ["1-2"]}]' }))).toEqual([
      expect.stringMatching(/network\.egress\[0\]: icmp has no ports/),
    ]);
    // icmp without ports, or an empty list of ports, is fine.
    expect(ok(bridge({ ingress: '[{from: web, protocol: icmp}]' })).spec.network.ingress[0]!.protocol).toBe('icmp');
  });

  it('refuses rules in mode none or host (and without a mode: none is the default) with a located error', () => {
    const none = bad(`${base}network:\n  mode: none\n  ingress: [{from: web}]\n`);
    expect(none).toEqual([expect.stringMatching(/^\/d\/web\.yaml:5:\d+: network\.ingress needs network\.mode bridge \(mode is none\)/)]);
    const host = bad(`${base}network:\n  mode: host\n  egress: [{to: 10.0.0.0/8}]\n`);
    expect(host).toEqual([
      expect.stringMatching(
        /^\/d\/web\.yaml:5:\d+: network\.egress needs network\.mode bridge \(mode is host: rules would change the host's own firewall\)/,
      ),
    ]);
    const unset = bad(`${base}network:\n  ingress: [{from: web}]\n  egress: [{to: web}]\n`);
    expect(unset).toEqual([
      expect.stringMatching(/^\/d\/web\.yaml:4:\d+: network\.ingress needs network\.mode bridge \(mode is none\)/),
      expect.stringMatching(/^\/d\/web\.yaml:5:\d+: network\.egress needs network\.mode bridge \(mode is none\)/),
    ]);
    // Empty lists ask for nothing.
    expect(ok(`${base}network:\n  mode: host\n  ingress: []\n  egress: []\n`).spec.network).toMatchObject({
      mode: 'host',
      ingress: [],
      egress: [],
    });
  });

  it('refuses what the schema does not allow: a rule without its peer, the wrong peer key, unknown keys and protocols', () => {
    expect(bad(bridge({ ingress: '[{ports: [80]}]' })).join('\n')).toMatch(/from/);
    expect(bad(bridge({ ingress: '[{to: web}]' })).join('\n')).toMatch(/to|from/);
    expect(bad(bridge({ egress: '[{from: web}]' })).join('\n')).toMatch(/to|from/);
    expect(bad(bridge({ egress: '[{to: web, protocol: sctp}]' })).join('\n')).toMatch(/protocol/);
    expect(bad(bridge({ egress: '[{to: web, action: drop}]' })).join('\n')).toMatch(/action/);
    expect(bad(bridge({ egress: '[{to: ""}]' })).join('\n')).toMatch(/to/);
  });

  it('fills in empty lists when there are no rules, and leaves them out of the user spec (old hashes stay)', () => {
    const d = ok(`${base}network: {mode: bridge}\n`);
    expect(d.spec.network.ingress).toEqual([]);
    expect(d.spec.network.egress).toEqual([]);
    expect(d.user.network).toEqual({ mode: 'bridge' });
    expect(ok(`${base}network: {mode: bridge, ingress: [], egress: []}\n`).hash).toBe(d.hash);
    const none = ok(base);
    expect(none.spec.network.ingress).toEqual([]);
    expect(none.spec.network.egress).toEqual([]);
  });

  it('changing only the rules changes the hash but recreates nothing (the rules apply in place)', () => {
    const plain = ok(`${base}network: {mode: bridge}\n`);
    const ingress = ok(bridge({ ingress: '[{from: web}]' }));
    const ingress2 = ok(bridge({ ingress: '[{from: web, ports: [80]}]' }));
    const egress = ok(bridge({ egress: '[{to: 10.0.0.0/8}]' }));
    const both = ok(bridge({ ingress: '[{from: web}]', egress: '[{to: 10.0.0.0/8}]' }));
    const hashes = [plain, ingress, ingress2, egress, both].map((d) => d.hash);
    expect(new Set(hashes).size).toBe(hashes.length);
    for (const [was, now] of [
      [plain, ingress],
      [ingress, ingress2],
      [ingress2, egress],
      [egress, both],
      [both, plain],
    ] as const) {
      expect(recreateFields(was.user, now.user)).toEqual([]);
      expect(recreateFields(now.user, was.user)).toEqual([]);
    }
    // The other fields of network still recreate, with rules changing at the same time or not.
    const aliased = ok(`${base}network:\n  mode: bridge\n  aliases: [x]\n  name: other\n  ingress: [{from: web}]\n`);
    expect(recreateFields(ingress.user, aliased.user)).toEqual(['network']);
  });
});

describe('network rules checked across a spec dir', () => {
  // Made when the tests run, not when the file is collected: a filtered run skips the hooks too.
  let root = '';
  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'pocker-fw-cross-'));
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  let seq = 0;
  const load = (files: Record<string, string>, partial = false) => {
    const dir = join(root, `d${seq++}`);
    mkdirSync(dir);
    for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
    const r = loadSpecFiles(dir, Object.keys(files), (f) => join(dir, f), undefined, undefined, undefined, partial);
    return { ...r, messages: r.errors.map(formatSpecError), dir };
  };
  const spec = (name: string, extra = ''): string => `name: ${name}\n${base}${extra}`;
  const net = (rules: string): string => `network:\n  mode: bridge\n${rules}`;

  it('warns that a privileged spec or one adding NET_ADMIN can lift its own rules, and loads it', () => {
    const r = load({
      'a.yaml': spec('a', `privileged: true\n${net('  ingress: [{from: 10.0.0.0/8}]\n')}`),
      'b.yaml': spec('b', `capabilities: {add: [NET_ADMIN]}\n${net('  egress: [{to: 10.0.0.0/8}]\n')}`),
      'c.yaml': spec('c', `capabilities: {add: [CAP_NET_ADMIN]}\n${net('  egress: [{to: 10.0.0.0/8}]\n')}`),
      'd.yaml': spec('d', `capabilities: {add: [NET_RAW]}\n${net('  egress: [{to: 10.0.0.0/8}]\n')}`),
      'e.yaml': spec('e', `privileged: true\n${net('')}`),
    });
    expect(r.messages).toEqual([]);
    expect(r.desired.map((d) => d.spec.name)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(r.warnings.sort()).toEqual([
      `${join(r.dir, 'a.yaml')}: "a" has privileged: true: it can lift its own network.ingress/egress rules`,
      `${join(r.dir, 'b.yaml')}: "b" has capabilities.add NET_ADMIN: it can lift its own network.ingress/egress rules`,
      `${join(r.dir, 'c.yaml')}: "c" has capabilities.add NET_ADMIN: it can lift its own network.ingress/egress rules`,
    ]);
  });

  it('warns of capabilities.add ALL too (it includes NET_ADMIN)', () => {
    const r = load({ 'a.yaml': spec('a', `capabilities: {add: [ALL]}\n${net('  ingress: [{from: 10.0.0.0/8}]\n')}`) });
    expect(r.messages).toEqual([]);
    expect(r.warnings).toEqual([
      expect.stringMatching(/a\.yaml: "a" has capabilities\.add .*: it can lift its own network\.ingress\/egress rules/),
    ]);
  });

  it('warns of a rule naming a container that is not in the dir, once per rule, and not of one that is', () => {
    const r = load({
      'a.yaml': spec('a', net('  ingress: [{from: b}, {from: ghost}, {from: 10.0.0.0/8}]\n  egress: [{to: phantom, ports: [80]}]\n')),
      'b.yaml': spec('b', net('  egress: [{to: a}]\n')),
    });
    expect(r.messages).toEqual([]);
    expect(r.desired.map((d) => d.spec.name)).toEqual(['a', 'b']);
    expect(r.warnings).toEqual([
      `${join(r.dir, 'a.yaml')}: "a": network rule names "ghost", which is not a container of this spec dir: it matches only while a container of that name runs`,
      `${join(r.dir, 'a.yaml')}: "a": network rule names "phantom", which is not a container of this spec dir: it matches only while a container of that name runs`,
    ]);
  });

  it('does not warn of a rule naming the hostname or an alias of a container of the dir (the rule resolves those names too)', () => {
    const r = load({
      'a.yaml': spec('a', net('  ingress: [{from: cache}, {from: db-host}]\n')),
      'b.yaml': spec('b', `hostname: db-host\n${net('  aliases: [cache]\n')}`),
    });
    expect(r.messages).toEqual([]);
    expect(r.warnings).toEqual([]);
  });

  it('says "the files checked" when only some files of the dir are checked', () => {
    const r = load({ 'a.yaml': spec('a', net('  ingress: [{from: b}]\n')) }, true);
    expect(r.messages).toEqual([]);
    expect(r.warnings).toEqual([
      `${join(r.dir, 'a.yaml')}: "a": network rule names "b", which is not a container of the files checked: it matches only while a container of that name runs`,
    ]);
  });

  it('gives no warning for a spec without rules', () => {
    const r = load({ 'a.yaml': spec('a', `privileged: true\ncapabilities: {add: [NET_ADMIN]}\n${net('')}`) });
    expect(r.warnings).toEqual([]);
  });
});
