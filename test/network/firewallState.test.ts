import { join } from 'node:path';
import { beforeEach, describe, expect, it } from 'vitest';
import { RuntimeError } from '../../reconciler/host/errors.js';
import { firewallScript, scriptHash, tableFingerprint } from '../../reconciler/network/firewall.js';
import { applyFirewall, firewallToSet, resolverOf, viewFirewall, wantedScript } from '../../reconciler/network/firewallState.js';
import type { NetworkMember } from '../../reconciler/network/names.js';
import type { FirewallRule, NetworkSpec } from '../../reconciler/spec/types.js';
import { containerPaths, networkPaths } from '../../reconciler/state/layout.js';
import { FakeHost } from '../helpers/fakeHost.js';

const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
const RESET = 'table inet pocker {}\ndelete table inet pocker\n';

const fromName = (n: string, ports: Array<[number, number]> = []): FirewallRule => ({
  peer: { name: n },
  ports,
  protocol: ports.length ? 'tcp' : null,
});
const fromCidr = (c: string, ports: Array<[number, number]> = []): FirewallRule => ({
  peer: { cidr: c },
  ports,
  protocol: ports.length ? 'tcp' : null,
});
const bridge = (ingress: FirewallRule[] = [], egress: FirewallRule[] = []): NetworkSpec => ({
  mode: 'bridge',
  name: 'pocker',
  ports: [],
  aliases: [],
  ingress,
  egress,
});
const member = (container: string, address: string, names: string[] = [container], network = 'pocker'): NetworkMember => ({
  container,
  network,
  address,
  names,
});
const membersOf = (...list: NetworkMember[]): Map<string, NetworkMember[]> => {
  const out = new Map<string, NetworkMember[]>();
  for (const m of list) out.set(m.network, [...(out.get(m.network) ?? []), m]);
  return out;
};
const NONE = new Map<string, NetworkMember[]>();

describe('resolverOf', () => {
  it('resolves a container by its name, hostname and aliases, on every network', () => {
    const resolve = resolverOf(
      membersOf(member('b', '10.77.0.3', ['b', 'b-host', 'cache']), member('c', '10.77.0.4'), member('d', '10.88.0.2', ['d'], 'other')),
    );
    expect(resolve('b')).toEqual(['10.77.0.3']);
    expect(resolve('b-host')).toEqual(['10.77.0.3']);
    expect(resolve('cache')).toEqual(['10.77.0.3']);
    expect(resolve('c')).toEqual(['10.77.0.4']);
    expect(resolve('d')).toEqual(['10.88.0.2']);
    expect(resolve('nobody')).toEqual([]);
  });

  it('gives every address of a name claimed on two networks', () => {
    const resolve = resolverOf(membersOf(member('b', '10.77.0.3', ['b', 'db']), member('db', '10.88.0.2', ['db'], 'other')));
    expect(resolve('db').sort()).toEqual(['10.77.0.3', '10.88.0.2']);
  });
});

describe('firewall state of a container namespace (fake host)', () => {
  let fake: FakeHost;
  const netnsOf = (name: string): string => networkPaths(dirs, name).netns;
  const recordPath = (name: string): string => join(containerPaths(dirs, name).dataDir, 'firewall.json');
  const record = (name: string): { script: string; hash: string; fingerprint: string | null } | null => {
    const t = fake.readFile(recordPath(name));
    return t === null ? null : (JSON.parse(t) as { script: string; hash: string; fingerprint: string | null });
  };
  /** Makes a container's data dir and /etc files, and pins its namespace (unless told not to). */
  const container = (name: string, opts: { resolv?: string | null; pin?: boolean } = {}): void => {
    fake.mkdir(containerPaths(dirs, name).dataDir);
    fake.mkdir(networkPaths(dirs, name).etcDir);
    const resolv = opts.resolv === undefined ? 'nameserver 10.77.0.1\n' : opts.resolv;
    if (resolv !== null) fake.writeFileAtomic(join(networkPaths(dirs, name).etcDir, 'resolv.conf'), resolv);
    if (opts.pin !== false) {
      fake.mkdir(join(dirs.stateDir, '.netns'));
      fake.pinNetns(netnsOf(name));
    }
  };
  const apply = (name: string, net: NetworkSpec, members: ReadonlyMap<string, readonly NetworkMember[]> = NONE) =>
    applyFirewall(fake, dirs, name, wantedScript(fake, dirs, name, net, members));

  beforeEach(() => {
    fake = new FakeHost('v2');
  });

  describe('wantedScript', () => {
    it('lets DNS reach the IPv4 name servers of the container resolv.conf, ignoring anything else there', () => {
      container('a', {
        resolv:
          '# generated\nsearch example.org\nnameserver 10.77.0.1\n  nameserver   9.9.9.9  \nnameserver fd00::1\noptions ndots:2\nnameserver 10.77.0.1\n',
      });
      const s = wantedScript(fake, dirs, 'a', bridge([], [fromCidr('192.0.2.0/24')]), NONE);
      expect(s).toBe(firewallScript({ ingress: [], egress: [fromCidr('192.0.2.0/24')] }, () => [], ['10.77.0.1', '9.9.9.9']));
      expect(s).toContain('ip daddr { 10.77.0.1, 9.9.9.9 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"');
    });

    it('has no DNS line without a resolv.conf', () => {
      container('a', { resolv: null });
      expect(wantedScript(fake, dirs, 'a', bridge([], [fromCidr('192.0.2.0/24')]), NONE)).not.toContain('dport 53');
    });

    it('resolves the names of the rules from the members given', () => {
      container('a');
      const s = wantedScript(
        fake,
        dirs,
        'a',
        bridge([fromName('cache', [[6379, 6379]])]),
        membersOf(member('b', '10.77.0.3', ['b', 'cache'])),
      );
      expect(s).toContain('ip saddr { 10.77.0.3/32 } tcp dport { 6379 } accept comment "cache"');
    });

    it('with no rules is the reset alone', () => {
      container('a');
      expect(wantedScript(fake, dirs, 'a', bridge(), NONE)).toBe(RESET);
    });
  });

  describe('viewFirewall', () => {
    it('is null with no rules and nothing applied', async () => {
      container('a');
      expect(await viewFirewall(fake, dirs, 'a', bridge(), NONE)).toBeNull();
      expect(fake.firewall.applied).toEqual([]);
    });

    it('is null when the container is not on a bridge, or its namespace is not there', async () => {
      container('a', { pin: false });
      expect(await viewFirewall(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE)).toBeNull();
      container('n');
      expect(await viewFirewall(fake, dirs, 'n', { ...bridge([fromCidr('10.0.0.0/8')]), mode: 'none' }, NONE)).toBeNull();
      expect(await viewFirewall(fake, dirs, 'n', { ...bridge([fromCidr('10.0.0.0/8')]), mode: 'host' }, NONE)).toBeNull();
    });

    it('lists the lines to add for rules never applied, with the script of now', async () => {
      container('a');
      const net = bridge([fromName('b', [[80, 80]])], [fromCidr('192.0.2.0/24')]);
      const members = membersOf(member('b', '10.77.0.3'));
      const v = await viewFirewall(fake, dirs, 'a', net, members);
      expect(v).toEqual({
        script: wantedScript(fake, dirs, 'a', net, members),
        diff:
          'firewall rules: +chain ingress {; +ip saddr { 10.77.0.3/32 } tcp dport { 80 } accept comment "b"; +chain egress {; ' +
          '+ip daddr { 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"; +ip daddr { 192.0.2.0/24 } accept comment "192.0.2.0/24"',
      });
      // Viewing changes nothing.
      expect(fake.firewall.applied).toEqual([]);
      expect(record('a')).toBeNull();
    });

    it('has an empty diff once applied and unchanged', async () => {
      container('a');
      const net = bridge([fromName('b')]);
      const members = membersOf(member('b', '10.77.0.3'));
      await apply('a', net, members);
      const v = await viewFirewall(fake, dirs, 'a', net, members);
      expect(v).toEqual({ script: wantedScript(fake, dirs, 'a', net, members), diff: '' });
      // Again: reading the table back is no change of it.
      expect(await viewFirewall(fake, dirs, 'a', net, members)).toEqual(v);
      expect(fake.firewall.applied).toHaveLength(1);
    });

    it('lists the lines that change when the rules change after an apply', async () => {
      container('a');
      await apply('a', bridge([fromCidr('10.0.0.0/8', [[80, 80]])]));
      const v = await viewFirewall(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8', [[443, 443]])]), NONE);
      expect(v?.diff).toBe(
        'firewall rules: -ip saddr { 10.0.0.0/8 } tcp dport { 80 } accept comment "10.0.0.0/8"; +ip saddr { 10.0.0.0/8 } tcp dport { 443 } accept comment "10.0.0.0/8"',
      );
    });

    it('follows a named container to its new address, and shows it gone when it stops running', async () => {
      container('a');
      const net = bridge([fromName('b')]);
      await apply('a', net, membersOf(member('b', '10.77.0.3')));
      const moved = await viewFirewall(fake, dirs, 'a', net, membersOf(member('b', '10.77.0.9')));
      expect(moved?.diff).toBe(
        'firewall rules: -ip saddr { 10.77.0.3/32 } accept comment "b"; +ip saddr { 10.77.0.9/32 } accept comment "b"',
      );
      expect(moved?.script).toContain('10.77.0.9/32');
      const gone = await viewFirewall(fake, dirs, 'a', net, NONE);
      expect(gone?.diff).toBe('firewall rules: -ip saddr { 10.77.0.3/32 } accept comment "b"; +# b: no running container of that name');
    });

    it('sees a change of name servers for egress rules', async () => {
      container('a');
      const net = bridge([], [fromCidr('192.0.2.0/24')]);
      await apply('a', net);
      fake.writeFileAtomic(join(networkPaths(dirs, 'a').etcDir, 'resolv.conf'), 'nameserver 10.77.0.1\nnameserver 1.1.1.1\n');
      expect((await viewFirewall(fake, dirs, 'a', net, NONE))?.diff).toBe(
        'firewall rules: -ip daddr { 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"; ' +
          '+ip daddr { 1.1.1.1, 10.77.0.1 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"',
      );
    });

    it('says the table was edited when it changed behind our back, and offers the same script again', async () => {
      container('a');
      const net = bridge([fromCidr('10.0.0.0/8')]);
      await apply('a', net);
      const wanted = wantedScript(fake, dirs, 'a', net, NONE);
      fake.firewall.tables.set(
        netnsOf('a'),
        'table inet pocker {\n  chain ingress {\n    type filter hook input priority filter; policy accept;\n  }\n}',
      );
      expect(await viewFirewall(fake, dirs, 'a', net, NONE)).toEqual({
        script: wanted,
        diff: 'firewall table edited inside the container namespace: restoring it',
      });
    });

    it('says the table is gone when it was deleted behind our back', async () => {
      container('a');
      const net = bridge([], [fromCidr('10.0.0.0/8')]);
      await apply('a', net);
      fake.firewall.tables.delete(netnsOf('a'));
      expect(await viewFirewall(fake, dirs, 'a', net, NONE)).toEqual({
        script: wantedScript(fake, dirs, 'a', net, NONE),
        diff: 'firewall table gone from the container namespace: restoring it',
      });
    });

    it('says so when the table cannot be read back, naming what nft said', async () => {
      container('a');
      const net = bridge([fromCidr('10.0.0.0/8')]);
      await apply('a', net);
      fake.firewall.list = () => Promise.resolve({ ok: false, out: 'Error: Could not process rule: Operation not permitted' });
      expect((await viewFirewall(fake, dirs, 'a', net, NONE))?.diff).toBe(
        'firewall table cannot be read back (Error: Could not process rule: Operation not permitted): applying it again',
      );
      fake.firewall.list = () => Promise.resolve({ ok: true, out: 'not json' });
      expect((await viewFirewall(fake, dirs, 'a', net, NONE))?.diff).toMatch(
        /^firewall table cannot be read back \(nft listing is not JSON: .+\): applying it again$/,
      );
    });

    it('a rule change wins over drift in the diff (the new script replaces the table anyway)', async () => {
      container('a');
      await apply('a', bridge([fromCidr('10.0.0.0/8')]));
      fake.firewall.tables.delete(netnsOf('a'));
      const v = await viewFirewall(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/16')]), NONE);
      expect(v?.diff).toMatch(/^firewall rules: -ip saddr \{ 10\.0\.0\.0\/8 \}.*; \+ip saddr \{ 10\.0\.0\.0\/16 \}/);
    });

    it('once every rule is removed, offers the reset listing the lines to remove; after it, nothing to compare', async () => {
      container('a');
      await apply('a', bridge([fromName('b')]), membersOf(member('b', '10.77.0.3')));
      const v = await viewFirewall(fake, dirs, 'a', bridge(), membersOf(member('b', '10.77.0.3')));
      expect(v).toEqual({ script: RESET, diff: 'firewall rules: -chain ingress {; -ip saddr { 10.77.0.3/32 } accept comment "b"' });
      await applyFirewall(fake, dirs, 'a', v!.script);
      expect(fake.firewall.tables.has(netnsOf('a'))).toBe(false);
      expect(record('a')).toEqual({ script: RESET, hash: scriptHash(RESET), fingerprint: null });
      expect(await viewFirewall(fake, dirs, 'a', bridge(), NONE)).toBeNull();
    });

    it('treats a record it cannot read as nothing applied', async () => {
      container('a');
      const net = bridge([fromCidr('10.0.0.0/8')]);
      await apply('a', net);
      fake.writeFileAtomic(recordPath('a'), '{not json');
      expect((await viewFirewall(fake, dirs, 'a', net, NONE))?.diff).toBe(
        'firewall rules: +chain ingress {; +ip saddr { 10.0.0.0/8 } accept comment "10.0.0.0/8"',
      );
      fake.writeFileAtomic(recordPath('a'), '{"script": 1}');
      expect((await viewFirewall(fake, dirs, 'a', net, NONE))?.diff).toMatch(/^firewall rules: \+chain ingress/);
    });
  });

  describe('applyFirewall', () => {
    it('applies the script in the container namespace and records it with the table as listed right after', async () => {
      container('a');
      const script = wantedScript(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE);
      await applyFirewall(fake, dirs, 'a', script);
      expect(fake.firewall.applied).toEqual([{ netns: netnsOf('a'), script }]);
      const listed = await fake.firewall.list(netnsOf('a'));
      expect(record('a')).toEqual({ script, hash: scriptHash(script), fingerprint: tableFingerprint(listed.out) });
    });

    it('throws NETWORK naming the container, its namespace and what nft said when nft refuses, and records nothing', async () => {
      container('a');
      const script = wantedScript(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE);
      fake.firewall.failNext = 'Error: syntax error, unexpected newline';
      const err = await applyFirewall(fake, dirs, 'a', script).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(RuntimeError);
      const e = err as RuntimeError;
      expect(e.code).toBe('NETWORK');
      expect(e.message).toBe(`nft -f in the network namespace of a (${netnsOf('a')}): Error: syntax error, unexpected newline`);
      expect(e.details).toMatchObject({ container: 'a', path: netnsOf('a') });
      expect(record('a')).toBeNull();
      expect(fake.firewall.tables.has(netnsOf('a'))).toBe(false);
      // Nothing recorded: the next view still wants the script applied.
      expect((await viewFirewall(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE))?.diff).toMatch(
        /^firewall rules: \+chain ingress/,
      );
    });

    it('keeps the previous record when a later apply is refused', async () => {
      container('a');
      await apply('a', bridge([fromCidr('10.0.0.0/8')]));
      const before = record('a');
      fake.firewall.failNext = 'Error: Could not process rule: No such file or directory';
      await expect(apply('a', bridge([fromCidr('10.0.0.0/16')]))).rejects.toMatchObject({ code: 'NETWORK' });
      expect(record('a')).toEqual(before);
      expect((await viewFirewall(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE))?.diff).toBe('');
    });

    it('records a null fingerprint when the table cannot be read back after an apply', async () => {
      container('a');
      fake.firewall.list = () => Promise.resolve({ ok: false, out: 'Error: timed out after 10000 ms' });
      const script = wantedScript(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]), NONE);
      await applyFirewall(fake, dirs, 'a', script);
      expect(record('a')).toEqual({ script, hash: scriptHash(script), fingerprint: null });
    });
  });

  describe('firewallToSet', () => {
    it('is true for a bridge container with rules, or one that had some applied', async () => {
      container('a');
      expect(firewallToSet(fake, dirs, 'a', bridge([fromCidr('10.0.0.0/8')]))).toBe(true);
      expect(firewallToSet(fake, dirs, 'a', bridge([], [fromName('b')]))).toBe(true);
      expect(firewallToSet(fake, dirs, 'a', bridge())).toBe(false);
      await apply('a', bridge([fromCidr('10.0.0.0/8')]));
      expect(firewallToSet(fake, dirs, 'a', bridge())).toBe(true);
    });

    it('is false for a container not on a bridge', async () => {
      container('a');
      await apply('a', bridge([fromCidr('10.0.0.0/8')]));
      expect(firewallToSet(fake, dirs, 'a', { ...bridge(), mode: 'none' })).toBe(false);
      expect(firewallToSet(fake, dirs, 'a', { ...bridge(), mode: 'host' })).toBe(false);
    });
  });
});
