import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { detectDriver } from '../../reconciler/cgroups/detect.js';
import type { CgroupDriver } from '../../reconciler/cgroups/driver.js';
import { reconcileOnce } from '../../reconciler/controller/once.js';
import { readNetworkRecord } from '../../reconciler/network/attach.js';
import { defaultConflist, type NetworkOptions } from '../../reconciler/network/conflist.js';
import { observe } from '../../reconciler/observe/observe.js';
import { containerPaths, networkPaths } from '../../reconciler/state/layout.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-fake-fw-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
const IPAM = '/var/lib/cni/networks/fw';
const opts: NetworkOptions = { confDir: '/etc/cni/net.d', binDir: '/usr/lib/cni', subnet: '10.78.0.0/24', bridge: 'fw0' };
const RESET = 'table inet pocker {}\ndelete table inet pocker\n';

describe('per-container firewall through reconcileOnce against a fake host, fake CNI and fake nft', () => {
  let fake: FakeHost;
  let driver: CgroupDriver;
  let dir: string;
  /** Every monitor start: its state dir, and the namespaces that had a table at that moment. */
  let starts: Array<{ label: string; tables: string[] }>;
  beforeEach(() => {
    fake = new FakeHost('v2');
    fake.mkdir(opts.confDir);
    fake.writeFileAtomic(join(opts.confDir, 'fw.conflist'), JSON.stringify(defaultConflist('fw', opts.bridge, opts.subnet)));
    fake.mkdir('/proc/net');
    fake.writeFileAtomic(
      '/proc/net/route',
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\neth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n',
    );
    // nft, as Debian's nftables installs it (the host check looks for it).
    fake.mkdir('/usr/sbin');
    fake.writeFileAtomic('/usr/sbin/nft', '');
    driver = detectDriver(fake, dirs.cgroupParent);
    dir = mkdtempSync(join(root, `s${seq++}-`));
    starts = [];
    const start = fake.startMonitor.bind(fake);
    // The options (Host.startMonitor's third argument) name the container's state dir as the label.
    fake.startMonitor = (binary: string, config: Buffer, o?: { label?: string }) => {
      starts.push({ label: o?.label ?? '', tables: [...fake.firewall.tables.keys()] });
      return start(binary, config);
    };
  });

  const write = (name: string, network: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): void =>
    writeFileSync(
      join(dir, `${name}.yaml`),
      stringify({
        name,
        image: { layers: ['/layers/busybox'] },
        command: ['httpd', '-f'],
        network: { mode: 'bridge', name: 'fw', ...network },
        ...extra,
      }),
    );
  const pass = () => reconcileOnce({ dir, dirs, host: fake, driver, network: opts, allowEmpty: true, monitorBinary: '/monitor' });
  /** A pass that must succeed: what it did, as [name, kind, ok]. */
  const okPass = async (): Promise<Array<[string, string, boolean]>> => {
    const r = await pass();
    expect(r.ok, JSON.stringify([r.load.errors, r.plan.problems, r.results])).toBe(true);
    return r.results.map((x) => [x.name, x.kind, x.ok]);
  };
  const netns = (name: string): string => networkPaths(dirs, name).netns;
  const address = (name: string): string => readNetworkRecord(fake, dirs, name)!.address!;
  const pid = (name: string): number => observe(fake, dirs, driver).containers.get(name)!.pids!.initPid;
  const appliedTo = (name: string): string[] => fake.firewall.applied.filter((a) => a.netns === netns(name)).map((a) => a.script);
  const table = (name: string): string | undefined => fake.firewall.tables.get(netns(name));
  const startsOf = (name: string) => starts.filter((s) => s.label === containerPaths(dirs, name).stateDir);
  /** Two passes in a row change nothing more: no action, no apply. */
  const settled = async (): Promise<void> => {
    const applied = fake.firewall.applied.length;
    const r = await pass();
    expect(r.plan.actions.filter((a) => a.kind !== 'none').map((a) => [a.name, a.kind, a.reason])).toEqual([]);
    expect(r.results).toEqual([]);
    expect(fake.firewall.applied.length).toBe(applied);
  };

  it('creates the table before the workload starts, naming the address of the container its rule names', async () => {
    write('b');
    expect(await okPass()).toEqual([['b', 'create', true]]);
    expect(fake.firewall.applied).toEqual([]);

    write('a', { ingress: [{ from: 'b' }] });
    expect(await okPass()).toEqual([['a', 'create', true]]);
    const applied = appliedTo('a');
    expect(applied).toHaveLength(1);
    expect(applied[0]).toContain(`    ip saddr { ${address('b')}/32 } accept comment "b"\n`);
    expect(applied[0]!.startsWith(`${RESET}table inet pocker {\n  chain ingress {\n`)).toBe(true);
    // The one start of a's monitor came after its namespace had its table.
    expect(startsOf('a')).toEqual([{ label: containerPaths(dirs, 'a').stateDir, tables: [netns('a')] }]);
    expect(table('a')).toContain(`ip saddr { ${address('b')}/32 }`);
    // b has no rules: no table is ever set in its namespace.
    expect(appliedTo('b')).toEqual([]);
    await settled();
  });

  it('changing a rule updates the table in place: same pid, one more apply, the diff in the reason', async () => {
    write('b');
    write('a', { ingress: [{ from: 'b' }] });
    await okPass();
    await settled();
    const before = pid('a');
    const applies = appliedTo('a').length;

    write('a', { ingress: [{ from: 'b', ports: [80] }] });
    const r = await pass();
    expect(r.ok).toBe(true);
    expect(r.plan.actions.filter((a) => a.kind !== 'none').map((a) => [a.name, a.kind])).toEqual([['a', 'update']]);
    const b = address('b');
    expect(r.plan.actions.find((a) => a.name === 'a')!.reason).toBe(
      `firewall rules: -ip saddr { ${b}/32 } accept comment "b"; +ip saddr { ${b}/32 } tcp dport { 80 } accept comment "b"`,
    );
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'update', true]]);
    expect(pid('a')).toBe(before);
    expect(appliedTo('a')).toHaveLength(applies + 1);
    expect(table('a')).toContain(`ip saddr { ${b}/32 } tcp dport { 80 } accept comment "b"`);
    expect(startsOf('a')).toHaveLength(1);
    await settled();
  });

  it('removing every rule deletes the table in place, and then leaves the namespace alone', async () => {
    write('a', { ingress: [{ from: '10.0.0.0/8' }], egress: [{ to: '192.0.2.0/24', ports: [443] }] });
    await okPass();
    expect(table('a')).toContain('chain egress');
    const before = pid('a');

    write('a');
    expect(await okPass()).toEqual([['a', 'update', true]]);
    expect(pid('a')).toBe(before);
    expect(appliedTo('a').at(-1)).toBe(RESET);
    expect(fake.firewall.tables.has(netns('a'))).toBe(false);
    await settled();
    await settled();
  });

  it('b recreated at another address: a table naming b follows it in the same pass', async () => {
    write('b');
    write('a', { ingress: [{ from: 'b', ports: [8080] }] });
    await okPass();
    await settled();
    const old = address('b');
    // Someone else takes b's address meanwhile, so b's next ADD gets another one.
    fake.writeFileAtomic(join(IPAM, old), 'squatter\neth0');
    write('b', {}, { env: { GENERATION: '2' } });
    const r = await okPass();
    expect(r).toEqual(expect.arrayContaining([['b', 'recreate', true]]));
    expect(address('b')).not.toBe(old);
    expect(r).toEqual(expect.arrayContaining([['a', 'update', true]]));
    expect(table('a')).toContain(`ip saddr { ${address('b')}/32 } tcp dport { 8080 } accept comment "b"`);
    expect(table('a')).not.toContain(old);
    await settled();
  });

  it('b removed: a drops its address in the same pass, and takes the new one when b comes back', async () => {
    write('b');
    write('a', { egress: [{ to: 'b' }] });
    await okPass();
    const old = address('b');
    expect(table('a')).toContain(`ip daddr { ${old}/32 } accept comment "b"`);

    rmSync(join(dir, 'b.yaml'));
    const gone = await okPass();
    expect(gone).toEqual(
      expect.arrayContaining([
        ['b', 'remove', true],
        ['a', 'update', true],
      ]),
    );
    expect(table('a')).toContain('# b: no running container of that name');
    expect(table('a')).not.toContain(old);
    await settled();

    // c takes b's old address; b comes back at another one.
    write('c');
    await okPass();
    write('b');
    const back = await okPass();
    expect(back).toEqual(
      expect.arrayContaining([
        ['b', 'create', true],
        ['a', 'update', true],
      ]),
    );
    expect(address('b')).not.toBe(old);
    expect(table('a')).toContain(`ip daddr { ${address('b')}/32 } accept comment "b"`);
    expect(table('a')).not.toContain(old);
    await settled();
  });

  it('a and b created in one pass: a table naming b has b by the end of that pass', async () => {
    write('a', { ingress: [{ from: 'b' }] });
    write('b');
    const r = await okPass();
    expect(r).toEqual(
      expect.arrayContaining([
        ['a', 'create', true],
        ['b', 'create', true],
      ]),
    );
    expect(table('a')).toContain(`ip saddr { ${address('b')}/32 } accept comment "b"`);
    expect(startsOf('a')[0]!.tables).toContain(netns('a'));
    await settled();
  });

  it('b stopped (state: stopped): a drops its address in the same pass', async () => {
    write('b');
    write('a', { ingress: [{ from: 'b' }] });
    await okPass();
    write('b', {}, { state: 'stopped' });
    const r = await okPass();
    expect(r).toEqual(
      expect.arrayContaining([
        ['b', 'stop', true],
        ['a', 'update', true],
      ]),
    );
    expect(table('a')).toContain('# b: no running container of that name');
    await settled();
  });

  it('an alias given to b in place: a rule naming that alias follows b in the same pass', async () => {
    write('b');
    write('a', { ingress: [{ from: 'cache' }] });
    await okPass();
    expect(table('a')).toContain('# cache: no running container of that name');
    const pidB = pid('b');
    write('b', { aliases: ['cache'] });
    const r = await okPass();
    // Aliases are applied in place (no recreate of b)...
    expect(r).toEqual(expect.arrayContaining([['b', 'update', true]]));
    expect(pid('b')).toBe(pidB);
    // ...and the table of a, naming that alias, follows b within the same reconcileOnce.
    expect(table('a')).toContain(`ip saddr { ${address('b')}/32 } accept comment "cache"`);
  });

  it('an alias taken from b in place: a rule naming that alias stops letting b in within the same pass', async () => {
    write('b', { aliases: ['cache'] });
    write('a', { ingress: [{ from: 'cache' }] });
    await okPass();
    const b = address('b');
    expect(table('a')).toContain(`ip saddr { ${b}/32 } accept comment "cache"`);
    write('b');
    expect(await okPass()).toEqual(expect.arrayContaining([['b', 'update', true]]));
    expect(table('a')).not.toContain(b);
    expect(table('a')).toContain('# cache: no running container of that name');
  });

  it('a table edited or deleted behind pocker is restored by the next pass, same pid', async () => {
    write('a', { ingress: [{ from: '10.0.0.0/8', ports: [80] }] });
    await okPass();
    const good = table('a');
    const before = pid('a');

    fake.firewall.tables.set(
      netns('a'),
      'table inet pocker {\n  chain ingress {\n    type filter hook input priority filter; policy accept;\n  }\n}',
    );
    const edited = await pass();
    expect(edited.plan.actions.map((a) => [a.name, a.kind, a.reason])).toEqual([
      ['a', 'update', 'firewall table edited inside the container namespace: restoring it'],
    ]);
    expect(edited.ok).toBe(true);
    expect(table('a')).toBe(good);
    await settled();

    fake.firewall.tables.delete(netns('a'));
    const gone = await pass();
    expect(gone.plan.actions.map((a) => [a.name, a.kind, a.reason])).toEqual([
      ['a', 'update', 'firewall table gone from the container namespace: restoring it'],
    ]);
    expect(table('a')).toBe(good);
    expect(pid('a')).toBe(before);
    await settled();
  });

  it('a crashed container is restarted with its table set again before its workload runs', async () => {
    write('a', { ingress: [{ from: '10.0.0.0/8' }] });
    await okPass();
    const applies = appliedTo('a').length;
    fake.exit(pid('a'), 0, 1);
    expect(await okPass()).toEqual([['a', 'restart', true]]);
    expect(appliedTo('a')).toHaveLength(applies + 1);
    expect(startsOf('a')).toHaveLength(2);
    expect(startsOf('a')[1]!.tables).toContain(netns('a'));
    expect(table('a')).toContain('ip saddr { 10.0.0.0/8 } accept comment "10.0.0.0/8"');
    await settled();
  });

  it('egress always lets DNS reach the name servers of the container resolv.conf (not loopback ones)', async () => {
    fake.mkdir('/etc');
    fake.writeFileAtomic('/etc/resolv.conf', 'nameserver 127.0.0.53\nnameserver 192.0.2.53\n');
    write('a', { egress: [{ to: '198.51.100.0/24', ports: [443] }] });
    await okPass();
    expect(table('a')).toContain('ip daddr { 192.0.2.53 } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"');
    expect(table('a')).not.toContain('127.0.0.53');
    await settled();
  });

  it('nft refusing the table fails the create before the workload starts; the next pass creates it', async () => {
    write('a', { ingress: [{ from: '10.0.0.0/8' }] });
    fake.firewall.failNext = 'Error: Could not process rule: No such file or directory';
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'create', false]]);
    expect(r.results[0]!.error).toContain(
      `nft -f in the network namespace of a (${netns('a')}): Error: Could not process rule: No such file or directory`,
    );
    expect(startsOf('a')).toEqual([]);
    expect(observe(fake, dirs, driver).containers.has('a')).toBe(false);
    expect((fake.readDir(IPAM) ?? []).filter((f) => /^[0-9.]+$/.test(f))).toEqual([]);

    expect(await okPass()).toEqual([['a', 'create', true]]);
    expect(startsOf('a')).toHaveLength(1);
    expect(table('a')).toContain('10.0.0.0/8');
    await settled();
  });

  it('nft refusing an update leaves the container running with its old table; the next pass applies the new one', async () => {
    write('a', { ingress: [{ from: '10.0.0.0/8' }] });
    await okPass();
    const before = pid('a');
    const old = table('a');
    write('a', { ingress: [{ from: '10.0.0.0/16' }] });
    fake.firewall.failNext = 'Error: syntax error';
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['a', 'update', false]]);
    expect(r.results[0]!.error).toContain('Error: syntax error');
    expect(pid('a')).toBe(before);
    expect(table('a')).toBe(old);

    expect(await okPass()).toEqual([['a', 'update', true]]);
    expect(pid('a')).toBe(before);
    expect(table('a')).toContain('ip saddr { 10.0.0.0/16 }');
    await settled();
  });

  it('refuses a spec with rules on a host without nft before anything is created', async () => {
    fake.removeFile('/usr/sbin/nft');
    write('a', { ingress: [{ from: '10.0.0.0/8' }] });
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => [x.name, x.ok])).toEqual([['a', false]]);
    expect(r.results[0]!.error).toMatch(/network\.ingress\/egress need nft, which is not installed \(apt-get install nftables\)/);
    expect(fake.cni.calls).toEqual([]);
    expect(starts).toEqual([]);
    expect(fake.firewall.applied).toEqual([]);
  });

  it('refuses rules added to a running container on a host without nft by the host check too, leaving it as it was', async () => {
    write('a');
    await okPass();
    const before = pid('a');
    fake.removeFile('/usr/sbin/nft');
    // What the real nft would do then: nsenter cannot run it.
    const apply = fake.firewall.apply.bind(fake.firewall);
    fake.firewall.apply = (ns, script) =>
      fake.kind('/usr/sbin/nft') === 'file'
        ? apply(ns, script)
        : Promise.resolve({ ok: false, out: 'nsenter: failed to execute nft: No such file or directory' });
    write('a', { ingress: [{ from: '10.0.0.0/8' }] });
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results.map((x) => [x.name, x.kind, x.ok, x.errorCode])).toEqual([['a', 'update', false, 'HOST_CHECK']]);
    expect(r.results[0]!.error).toMatch(/network\.ingress\/egress need nft, which is not installed \(apt-get install nftables\)/);
    expect(pid('a')).toBe(before);
  });

  it('containers without rules never touch nft, nft or not', async () => {
    fake.removeFile('/usr/sbin/nft');
    write('b');
    write('n', { mode: 'none', name: undefined });
    await okPass();
    await settled();
    write('b', {}, { env: { X: '1' } });
    await okPass();
    expect(fake.firewall.applied).toEqual([]);
  });
});
