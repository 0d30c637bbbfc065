import { describe, expect, it } from 'vitest';
import {
  FIREWALL_TABLE,
  firewallScript,
  hasFirewall,
  scriptDiff,
  scriptHash,
  tableFingerprint,
  type NameResolver,
} from '../../reconciler/network/firewall.js';
import type { FirewallRule } from '../../reconciler/spec/types.js';

const RESET = 'table inet pocker {}\ndelete table inet pocker\n';
const name = (
  n: string,
  ports: Array<[number, number]> = [],
  protocol: FirewallRule['protocol'] = ports.length ? 'tcp' : null,
): FirewallRule => ({
  peer: { name: n },
  ports,
  protocol,
});
const cidr = (
  c: string,
  ports: Array<[number, number]> = [],
  protocol: FirewallRule['protocol'] = ports.length ? 'tcp' : null,
): FirewallRule => ({
  peer: { cidr: c },
  ports,
  protocol,
});
/** A resolver from a fixed table of names. */
const names =
  (table: Record<string, string[]>): NameResolver =>
  (n) =>
    table[n] ?? [];
const nobody: NameResolver = () => [];
/** The rule lines of a script (the ones between the chain heads and their closing braces). */
const lines = (script: string): string[] => script.split('\n').map((l) => l.trim());

describe('firewallScript', () => {
  it('with no rules only deletes the table (creating it empty first, so the delete never fails)', () => {
    expect(FIREWALL_TABLE).toBe('pocker');
    expect(firewallScript({ ingress: [], egress: [] }, nobody, ['10.0.0.1'])).toBe(RESET);
  });

  it('starts every script with the reset, so the whole table is replaced in one transaction', () => {
    for (const net of [
      { ingress: [cidr('10.0.0.0/8')], egress: [] },
      { ingress: [], egress: [cidr('10.0.0.0/8')] },
      { ingress: [cidr('10.0.0.0/8')], egress: [name('b')] },
    ]) {
      const s = firewallScript(net, nobody, []);
      expect(s.startsWith(`${RESET}table inet pocker {\n`)).toBe(true);
      expect(s.endsWith('}\n')).toBe(true);
      // The reset comes once, before the definition.
      expect(s.split('delete table').length).toBe(2);
    }
  });

  it('writes an ingress chain on input with policy drop, established/related and loopback, then the rules', () => {
    const s = firewallScript(
      { ingress: [name('b'), cidr('10.0.0.0/8', [[80, 80]]), cidr('192.0.2.0/24', [], 'icmp')], egress: [] },
      names({ b: ['10.77.0.3'] }),
      ['10.77.0.1'],
    );
    expect(s).toBe(
      `${RESET}table inet pocker {\n` +
        '  chain ingress {\n' +
        '    type filter hook input priority filter; policy drop;\n' +
        '    ct state established,related accept\n' +
        '    iif "lo" accept\n' +
        '    ip saddr { 10.77.0.3/32 } accept comment "b"\n' +
        '    ip saddr { 10.0.0.0/8 } tcp dport { 80 } accept comment "10.0.0.0/8"\n' +
        '    ip saddr { 192.0.2.0/24 } ip protocol icmp accept comment "192.0.2.0/24"\n' +
        '  }\n' +
        '}\n',
    );
    // Ingress never lets DNS through of itself, and there is no egress chain.
    expect(s).not.toContain('name servers');
    expect(s).not.toContain('chain egress');
    expect(s).not.toContain('hook output');
  });

  it('writes an egress chain on output with loopback and DNS to the name servers, sorted and without repeats', () => {
    const s = firewallScript(
      {
        ingress: [],
        egress: [
          cidr('192.0.2.0/24', [
            [443, 443],
            [8000, 8100],
          ]),
        ],
      },
      nobody,
      ['10.0.0.2', '10.0.0.1', '10.0.0.2'],
    );
    expect(s).toBe(
      `${RESET}table inet pocker {\n` +
        '  chain egress {\n' +
        '    type filter hook output priority filter; policy drop;\n' +
        '    ct state established,related accept\n' +
        '    oif "lo" accept\n' +
        '    ip daddr { 10.0.0.1, 10.0.0.2 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"\n' +
        '    ip daddr { 192.0.2.0/24 } tcp dport { 443, 8000-8100 } accept comment "192.0.2.0/24"\n' +
        '  }\n' +
        '}\n',
    );
    expect(s).not.toContain('chain ingress');
  });

  it('leaves the DNS line out when there are no name servers', () => {
    const s = firewallScript({ ingress: [], egress: [cidr('192.0.2.0/24')] }, nobody, []);
    expect(s).not.toContain('dport 53');
    expect(lines(s)).toContain('ip daddr { 192.0.2.0/24 } accept comment "192.0.2.0/24"');
  });

  it('writes both chains, ingress first, when both directions have rules', () => {
    const s = firewallScript({ ingress: [cidr('10.0.0.0/8')], egress: [cidr('10.0.0.0/8')] }, nobody, ['10.0.0.1']);
    expect(s.indexOf('chain ingress')).toBeGreaterThan(0);
    expect(s.indexOf('chain egress')).toBeGreaterThan(s.indexOf('chain ingress'));
    expect(lines(s)).toEqual(
      expect.arrayContaining([
        'ip saddr { 10.0.0.0/8 } accept comment "10.0.0.0/8"',
        'ip daddr { 10.0.0.0/8 } accept comment "10.0.0.0/8"',
      ]),
    );
    expect(s.match(/policy drop;/g)).toHaveLength(2);
  });

  it('matches the protocol: ports as a set, a protocol without ports, or any protocol', () => {
    const s = firewallScript(
      {
        ingress: [
          cidr('10.0.0.1/32', [[53, 53]], 'udp'),
          cidr('10.0.0.2/32', [], 'udp'),
          cidr('10.0.0.3/32', [], 'tcp'),
          cidr(
            '10.0.0.4/32',
            [
              [1, 1024],
              [8080, 8080],
            ],
            'tcp',
          ),
          cidr('10.0.0.5/32', [], 'icmp'),
          cidr('10.0.0.6/32'),
        ],
        egress: [],
      },
      nobody,
      [],
    );
    expect(lines(s).filter((l) => l.startsWith('ip saddr'))).toEqual([
      'ip saddr { 10.0.0.1/32 } udp dport { 53 } accept comment "10.0.0.1/32"',
      'ip saddr { 10.0.0.2/32 } meta l4proto udp accept comment "10.0.0.2/32"',
      'ip saddr { 10.0.0.3/32 } meta l4proto tcp accept comment "10.0.0.3/32"',
      'ip saddr { 10.0.0.4/32 } tcp dport { 1-1024, 8080 } accept comment "10.0.0.4/32"',
      'ip saddr { 10.0.0.5/32 } ip protocol icmp accept comment "10.0.0.5/32"',
      'ip saddr { 10.0.0.6/32 } accept comment "10.0.0.6/32"',
    ]);
  });

  it('resolves names through the resolver, every address as a /32, sorted and without repeats', () => {
    const resolve = names({ b: ['10.77.0.9', '10.77.0.10', '10.77.0.9'], cache: ['10.77.0.4'] });
    const s = firewallScript({ ingress: [name('b', [[6379, 6379]])], egress: [name('cache')] }, resolve, []);
    expect(lines(s)).toContain('ip saddr { 10.77.0.10/32, 10.77.0.9/32 } tcp dport { 6379 } accept comment "b"');
    expect(lines(s)).toContain('ip daddr { 10.77.0.4/32 } accept comment "cache"');
    // The order the resolver answers in does not matter.
    const reversed = names({ b: ['10.77.0.10', '10.77.0.9'], cache: ['10.77.0.4'] });
    expect(firewallScript({ ingress: [name('b', [[6379, 6379]])], egress: [name('cache')] }, reversed, [])).toBe(s);
  });

  it('asks the resolver only for names, never for CIDRs', () => {
    const asked: string[] = [];
    firewallScript(
      { ingress: [cidr('10.0.0.0/8'), name('b')], egress: [name('c'), cidr('192.0.2.1/32')] },
      (n) => {
        asked.push(n);
        return [];
      },
      [],
    );
    expect(asked.sort()).toEqual(['b', 'c']);
  });

  it('a name that resolves to nothing gives a comment line and no accept (the chain still drops)', () => {
    const s = firewallScript({ ingress: [name('gone', [[80, 80]])], egress: [name('gone')] }, nobody, ['10.0.0.1']);
    expect(lines(s).filter((l) => l.includes('gone'))).toEqual([
      '# gone: no running container of that name',
      '# gone: no running container of that name',
    ]);
    expect(s).not.toMatch(/accept comment "gone"/);
    expect(s.match(/policy drop;/g)).toHaveLength(2);
  });

  it('is deterministic: the same rules and addresses always give the same script', () => {
    const net = { ingress: [name('b'), cidr('10.0.0.0/8', [[80, 80]])], egress: [name('c', [[53, 53]], 'udp')] };
    const resolve = names({ b: ['10.77.0.3'], c: ['10.77.0.4'] });
    expect(firewallScript(net, resolve, ['10.0.0.1'])).toBe(firewallScript(net, resolve, ['10.0.0.1']));
  });
});

describe('hasFirewall', () => {
  it('is true when either direction has a rule', () => {
    expect(hasFirewall({ ingress: [], egress: [] })).toBe(false);
    expect(hasFirewall({ ingress: [name('b')], egress: [] })).toBe(true);
    expect(hasFirewall({ ingress: [], egress: [cidr('10.0.0.0/8')] })).toBe(true);
  });
});

describe('scriptHash', () => {
  it('is 16 hex digits, the same for the same script and different for another', () => {
    const a = firewallScript({ ingress: [cidr('10.0.0.0/8')], egress: [] }, nobody, []);
    const b = firewallScript({ ingress: [cidr('10.0.0.0/16')], egress: [] }, nobody, []);
    expect(scriptHash(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(scriptHash(a)).toBe(scriptHash(`${a}`));
    expect(scriptHash(a)).not.toBe(scriptHash(b));
    expect(scriptHash(RESET)).not.toBe(scriptHash(a));
  });
});

/** A table as `nft -j list table inet pocker` prints it: an ingress chain with these rules' expressions. */
function listing(
  opts: { handles?: number; version?: string; rules?: unknown[][]; policy?: string; hook?: string; comment?: string } = {},
): string {
  const h = opts.handles ?? 0;
  const rules = opts.rules ?? [
    [{ match: { op: 'in', left: { ct: { key: 'state' } }, right: ['established', 'related'] } }, { accept: null }],
    [{ match: { op: '==', left: { meta: { key: 'iifname' } }, right: 'lo' } }, { accept: null }],
    [
      { match: { op: '==', left: { payload: { protocol: 'ip', field: 'saddr' } }, right: { set: ['10.77.0.3'] } } },
      { match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: { set: [80] } } },
      { accept: null },
    ],
  ];
  return JSON.stringify({
    nftables: [
      { metainfo: { version: opts.version ?? '1.0.6', release_name: 'Lester Gooch #5', json_schema_version: 1 } },
      { table: { family: 'inet', name: 'pocker', handle: 1 + h } },
      {
        chain: {
          family: 'inet',
          table: 'pocker',
          name: 'ingress',
          handle: 2 + h,
          type: 'filter',
          hook: opts.hook ?? 'input',
          prio: 0,
          policy: opts.policy ?? 'drop',
        },
      },
      ...rules.map((expr, i) => ({
        rule: {
          family: 'inet',
          table: 'pocker',
          chain: 'ingress',
          handle: 5 + i + h,
          ...(i === rules.length - 1 && { comment: opts.comment ?? 'b' }),
          expr,
        },
      })),
    ],
  });
}

describe('tableFingerprint', () => {
  it('is 16 hex digits and ignores handles and nft metainfo', () => {
    const f = tableFingerprint(listing());
    expect(f).toMatch(/^[0-9a-f]{16}$/);
    expect(tableFingerprint(listing({ handles: 40 }))).toBe(f);
    expect(tableFingerprint(listing({ version: '1.1.1' }))).toBe(f);
    expect(tableFingerprint(listing({ handles: 7, version: '0.9.8' }))).toBe(f);
  });

  it('ignores the order of keys within an object (only what they hold counts)', () => {
    const doc = JSON.parse(listing()) as { nftables: Array<Record<string, Record<string, unknown>>> };
    const reordered = {
      nftables: doc.nftables.map((o) =>
        Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).reverse())])),
      ),
    };
    expect(tableFingerprint(JSON.stringify(reordered))).toBe(tableFingerprint(listing()));
  });

  it('changes with any change of a rule: an address, a port, a verdict, a comment, an expression added or removed', () => {
    const f = tableFingerprint(listing());
    const base = JSON.parse(listing()) as { nftables: Array<{ rule?: { expr: unknown[] } }> };
    const edited = (edit: (rules: Array<{ expr: unknown[] }>) => void): string => {
      const doc = structuredClone(base);
      edit(doc.nftables.filter((o) => o.rule).map((o) => o.rule!));
      return tableFingerprint(JSON.stringify(doc));
    };
    const variants = [
      edited((r) => ((r[2]!.expr[0] as { match: { right: { set: string[] } } }).match.right.set = ['10.77.0.4'])),
      edited((r) => ((r[2]!.expr[1] as { match: { right: { set: number[] } } }).match.right.set = [81])),
      edited((r) => (r[2]!.expr[2] = { drop: null })),
      edited((r) => r[2]!.expr.splice(1, 1)),
      edited((r) => r[2]!.expr.splice(2, 0, { counter: { packets: 0, bytes: 0 } })),
      tableFingerprint(listing({ comment: 'c' })),
    ];
    for (const v of variants) expect(v).not.toBe(f);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('changes when a rule is added, removed or moved, or the chain changes', () => {
    const f = tableFingerprint(listing());
    const doc = JSON.parse(listing()) as { nftables: unknown[] };
    const rules = doc.nftables.slice(3);
    const withRules = (rs: unknown[]): string => tableFingerprint(JSON.stringify({ nftables: [...doc.nftables.slice(0, 3), ...rs] }));
    const variants = [
      withRules(rules.slice(0, 2)),
      withRules([...rules, rules[2]]),
      withRules([rules[2], rules[0], rules[1]]),
      withRules([]),
      tableFingerprint(listing({ policy: 'accept' })),
      tableFingerprint(listing({ hook: 'output' })),
    ];
    for (const v of variants) expect(v).not.toBe(f);
    expect(new Set(variants).size).toBe(variants.length);
  });

  it('treats an empty listing as an empty table, and refuses text that is not JSON', () => {
    expect(tableFingerprint('{"nftables":[{"metainfo":{"version":"1"}}]}')).toBe(tableFingerprint('{"nftables":[]}'));
    expect(tableFingerprint('{}')).toBe(tableFingerprint('{"nftables":[]}'));
    expect(tableFingerprint('{"nftables":[]}')).not.toBe(tableFingerprint(listing()));
    expect(() => tableFingerprint('Error: No such file or directory')).toThrow();
  });
});

describe('scriptDiff', () => {
  const resolve = names({ b: ['10.77.0.3'], c: ['10.77.0.4'] });
  const script = (ingress: FirewallRule[], egress: FirewallRule[] = [], ns: string[] = ['10.77.0.1'], r: NameResolver = resolve) =>
    firewallScript({ ingress, egress }, r, ns);

  it('is empty for the same script', () => {
    const s = script([name('b')], [cidr('10.0.0.0/8')]);
    expect(scriptDiff(s, s)).toEqual([]);
    expect(scriptDiff(RESET, RESET)).toEqual([]);
  });

  it('lists the chain and rule lines of a new table with +, and none of the fixed lines', () => {
    expect(scriptDiff('', script([name('b', [[80, 80]])]))).toEqual([
      '+chain ingress {',
      '+ip saddr { 10.77.0.3/32 } tcp dport { 80 } accept comment "b"',
    ]);
    expect(scriptDiff(RESET, script([], [cidr('192.0.2.0/24')]))).toEqual([
      '+chain egress {',
      '+ip daddr { 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"',
      '+ip daddr { 192.0.2.0/24 } accept comment "192.0.2.0/24"',
    ]);
  });

  it('lists the lines of a table taken away with -', () => {
    expect(scriptDiff(script([name('b')]), RESET)).toEqual(['-chain ingress {', '-ip saddr { 10.77.0.3/32 } accept comment "b"']);
  });

  it('lists a changed rule as the old line removed and the new one added, and leaves the unchanged ones out', () => {
    const before = script([name('b'), cidr('10.0.0.0/8', [[80, 80]])]);
    const after = script([name('b'), cidr('10.0.0.0/8', [[443, 443]])]);
    expect(scriptDiff(before, after)).toEqual([
      '-ip saddr { 10.0.0.0/8 } tcp dport { 80 } accept comment "10.0.0.0/8"',
      '+ip saddr { 10.0.0.0/8 } tcp dport { 443 } accept comment "10.0.0.0/8"',
    ]);
  });

  it('shows a name that moved to another address, and one that stopped resolving', () => {
    const moved = script([name('b')], [], [], names({ b: ['10.77.0.9'] }));
    const gone = script([name('b')], [], [], nobody);
    expect(scriptDiff(script([name('b')], [], []), moved)).toEqual([
      '-ip saddr { 10.77.0.3/32 } accept comment "b"',
      '+ip saddr { 10.77.0.9/32 } accept comment "b"',
    ]);
    expect(scriptDiff(script([name('b')], [], []), gone)).toEqual([
      '-ip saddr { 10.77.0.3/32 } accept comment "b"',
      '+# b: no running container of that name',
    ]);
  });

  it('shows a change of name servers on the DNS line', () => {
    const before = script([], [cidr('192.0.2.0/24')], ['10.77.0.1']);
    const after = script([], [cidr('192.0.2.0/24')], ['10.77.0.1', '1.1.1.1']);
    expect(scriptDiff(before, after)).toEqual([
      '-ip daddr { 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"',
      '+ip daddr { 1.1.1.1, 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"',
    ]);
  });
});
