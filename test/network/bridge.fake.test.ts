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
import { removeNetwork } from '../../reconciler/network/remove.js';
import { observe } from '../../reconciler/observe/observe.js';
import { FakeHost } from '../helpers/fakeHost.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-fake-net-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let seq = 0;

const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };
const IPAM = '/var/lib/cni/networks/fn';
const opts: NetworkOptions = { confDir: '/etc/cni/net.d', binDir: '/usr/lib/cni', subnet: '10.77.0.0/24', bridge: 'fn0' };

describe('bridge networking against a fake host and fake CNI plugins', () => {
  let fake: FakeHost;
  let driver: CgroupDriver;
  let dir: string;
  beforeEach(() => {
    fake = new FakeHost('v2');
    fake.mkdir(opts.confDir);
    fake.writeFileAtomic(join(opts.confDir, 'fn.conflist'), JSON.stringify(defaultConflist('fn', opts.bridge, opts.subnet)));
    fake.mkdir('/proc/net');
    fake.writeFileAtomic(
      '/proc/net/route',
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\neth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n',
    );
    driver = detectDriver(fake, dirs.cgroupParent);
    dir = mkdtempSync(join(root, `s${seq++}-`));
  });

  const write = (name: string, ports: Array<{ host: number; container: number }> = []): void =>
    writeFileSync(
      join(dir, `${name}.yaml`),
      stringify({
        name,
        image: { layers: ['/layers/busybox'] },
        command: ['httpd', '-f'],
        network: { mode: 'bridge', name: 'fn', ...(ports.length && { ports }) },
      }),
    );
  const pass = () => reconcileOnce({ dir, dirs, host: fake, driver, network: opts, allowEmpty: true, monitorBinary: '/monitor' });
  const reservations = (): string[] => (fake.readDir(`${IPAM}`) ?? []).filter((f) => /^[0-9.]+$/.test(f)).sort();
  const tagged = (): string[] => fake.net.rules().filter((r) => r.includes('pocker-pocker-'));
  const leftovers = (): string[] => [
    ...reservations(),
    ...tagged(),
    ...fake.links().filter((l) => l !== opts.bridge),
    ...(fake.readDir('/run/pocker/netns') ?? []),
  ];

  it('gives each container its own address, veth, nat rules and /etc files, and takes all of it back on removal', async () => {
    write('web', [{ host: 8080, container: 80 }]);
    write('db');
    const up = await pass();
    expect(up.ok, JSON.stringify(up.results)).toBe(true);
    const web = readNetworkRecord(fake, dirs, 'web')!;
    const db = readNetworkRecord(fake, dirs, 'db')!;
    expect(new Set([web.address, db.address]).size).toBe(2);
    expect(reservations()).toEqual([web.address, db.address].sort());
    expect(fake.links()).toEqual([opts.bridge, web.hostVeth, db.hostVeth].sort());
    expect(tagged().filter((r) => r.includes('DNAT') && r.includes(web.containerId))).toHaveLength(2);
    expect(fake.readFile('/var/lib/pocker/containers/web/etc/hosts')).toContain(`${web.address}\tweb`);
    for (const rec of [web, db])
      expect(fake.cni.calls.filter((c) => c.containerId === rec.containerId).map((c) => `${c.command} ${c.plugin}`)).toEqual([
        'ADD bridge',
        'ADD portmap',
      ]);

    const again = await pass();
    expect(again.plan.actions.filter((a) => a.kind !== 'none')).toEqual([]);
    expect(fake.cni.calls).toHaveLength(4);

    rmSync(join(dir, 'web.yaml'));
    rmSync(join(dir, 'db.yaml'));
    const down = await pass();
    expect(down.ok, JSON.stringify(down.results)).toBe(true);
    expect(leftovers()).toEqual([]);
    expect(removeNetwork(fake, 'fn', dirs, opts)).toEqual(['bridge fn0', 'chain CNI-HOSTPORT-DNAT', `IPAM dir ${IPAM}`]);
    expect(fake.links()).toEqual([]);
    expect(fake.net.chains.has('CNI-HOSTPORT-DNAT')).toBe(false);
  });

  it('keeps the address across a restart of the container (the attachment is reused whole)', async () => {
    write('web');
    expect((await pass()).ok).toBe(true);
    const before = readNetworkRecord(fake, dirs, 'web')!;
    const a = observe(fake, dirs, driver).containers.get('web')!;
    fake.exit(a.pids!.initPid, 0, 1);
    const r = await pass();
    expect(r.plan.actions.map((x) => x.kind)).toEqual(['restart']);
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(readNetworkRecord(fake, dirs, 'web')!.address).toBe(before.address);
    expect(fake.cni.calls.filter((c) => c.command === 'ADD')).toHaveLength(2);
  });

  it('a failing ADD of the second plugin runs DEL of the whole list: nothing half-attached, and the next pass succeeds', async () => {
    write('web', [{ host: 8080, container: 80 }]);
    fake.cni.fail.set('portmap:ADD', 'cannot set up port mapping');
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results[0]!.error).toContain('cannot set up port mapping');
    expect(leftovers()).toEqual([]);
    expect(observe(fake, dirs, driver).containers.size).toBe(0);
    fake.cni.fail.clear();
    expect((await pass()).ok).toBe(true);
    expect(reservations()).toHaveLength(1);
  });

  it('a hanging DEL is killed after the CNI timeout and pocker releases the address, the rules and the namespace itself', async () => {
    write('web', [{ host: 8080, container: 80 }]);
    expect((await pass()).ok).toBe(true);
    fake.cni.hang.add('bridge:DEL');
    fake.cni.hang.add('portmap:DEL');
    // DEL of the list, then once more after pocker swept the nat rules the plugins left.
    rmSync(join(dir, 'web.yaml'));
    const timeouts = { cniMs: 50, monitorMs: 1000, lockMs: 1000 };
    const down = await reconcileOnce({
      dir,
      dirs,
      host: fake,
      driver,
      network: opts,
      allowEmpty: true,
      monitorBinary: '/monitor',
      timeouts,
    });
    expect(down.results.map((x) => x.name)).toEqual(['web']);
    expect(fake.cni.calls.filter((c) => c.command === 'DEL').map((c) => c.plugin)).toEqual(['portmap', 'bridge', 'portmap', 'bridge']);
    expect(leftovers()).toEqual([]);
    expect(readNetworkRecord(fake, dirs, 'web')).toBeNull();
  });

  it('refuses a subnet that overlaps a host route, before anything is created', async () => {
    fake.writeFileAtomic(
      '/proc/net/route',
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\nlan0\t00004D0A\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n',
    );
    write('web');
    const r = await pass();
    expect(r.ok).toBe(false);
    expect(r.results[0]!.error).toMatch(/subnet 10\.77\.0\.0\/24 overlaps the host route 10\.77\.0\.0\/24 on lan0/);
    expect(fake.cni.calls).toEqual([]);
    expect(leftovers()).toEqual([]);
  });
});
