import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { instanceFlags, POCKER_BIN } from '../helpers/cli.js';
import { downSource } from '../../reconciler/controller/once.js';
import { readNetworkRecord } from '../../reconciler/network/attach.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { restoreBootId, simulateReboot } from '../helpers/reboot.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { ClientNamespace, describeNetwork, sh, TestNetwork } from '../helpers/network.js';
import { sleep, until } from '../helpers/wait.js';

/** GET over TCP from this (host) process; the body, or the error. */
function httpGet(url: string): Promise<string> {
  return new Promise((resolve) => {
    const req = get(url, { timeout: 2000 }, (res) => {
      let body = '';
      res
        .setEncoding('utf8')
        .on('data', (d: string) => (body += d))
        .on('end', () => resolve(body));
    });
    req.on('error', (e) => resolve(`error: ${e.message}`));
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
}

const HTTPD = ['sh', '-c', 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'];

describeNetwork('network.mode bridge through the CNI plugins', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    restoreBootId();
    if (process.env.DEBUG_NAT) console.log(sh(['iptables-save', '-t', 'nat']).out);
    const down = await downSource({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver });
    const left = net.leftovers();
    expect(down.results.filter((r) => !r.ok)).toEqual([]);
    net.close();
    expect(left).toEqual([]);
  });
  const pass = (extra = {}) => inst.reconcile({ network: net.opts, allowEmpty: true, ...extra });
  const addressOf = (name: string): string => readNetworkRecord(inst.host, inst.dirs, name)!.address!;

  it('connects two containers on the bridge, publishes a port to 127.0.0.1 and to a client namespace, and writes /etc files', async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    inst.writeSpec('web.yaml', inst.spec('web', { command: HTTPD, network: net.spec([{ host: hostPort, container: 8080 }]) }));
    expect((await pass()).ok).toBe(true);
    const webIp = addressOf('web');
    inst.writeSpec(
      'client.yaml',
      inst.spec('client', {
        command: [
          'sh',
          '-c',
          `for i in $(seq 50); do printf 'GET / HTTP/1.0\r\n\r\n' | nc ${webIp} 8080 | tail -n 1 | grep . && break; sleep 0.1; done; cat /etc/hosts /etc/hostname; exec sleep 3600`,
        ],
        network: net.spec(),
      }),
    );
    const r = await pass();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    const clientIp = addressOf('client');
    await until(() => inst.log('client').includes('client\n'), 'client output');
    const out = inst.log('client');
    expect(out).toContain('web\n');
    expect(out).toContain(`${clientIp}\tclient`);

    // From the host, through portmap's localhost support.
    let body = '';
    for (let i = 0; i < 20 && body !== 'web\n'; i++, await sleep(100)) body = await httpGet(`http://127.0.0.1:${hostPort}/`);
    expect(body).toBe('web\n');

    // From a client namespace this test made, wired to the host by a veth with its own /30.
    const client = new ClientNamespace();
    try {
      let got = '';
      for (let i = 0; i < 20 && !got.includes('web'); i++, await sleep(100)) got = client.get(`http://${client.hostAddr}:${hostPort}/`);
      expect(got).toBe('web\n');
    } finally {
      client.remove();
    }
    expect(net.allocations().sort()).toEqual([webIp, clientIp].sort());
    expect(net.ports()).toHaveLength(2);
  });

  it('leaves nothing per container after 50 create/remove cycles; network rm then removes the bridge and the shared chains', async () => {
    for (let i = 0; i < 50; i++) {
      inst.writeSpec('c.yaml', inst.spec('c', { network: net.spec([{ host: 30000 + (i % 10), container: 80 }]) }));
      const up = await pass();
      expect(up.ok, `cycle ${i}: ${JSON.stringify(up.results)}`).toBe(true);
      inst.removeSpec('c.yaml');
      const down = await pass();
      expect(down.ok, `cycle ${i}: ${JSON.stringify(down.results)}`).toBe(true);
    }
    expect(net.leftovers()).toEqual([]);
    expect(readFileSync(`/sys/class/net/${net.bridge}/operstate`, 'utf8')).toBeTruthy();
    net.close();
    expect(sh(['ip', 'link', 'show', net.bridge]).status).not.toBe(0);
    for (const chain of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-MASQ', 'CNI-HOSTPORT-SETMARK'])
      expect(sh(['iptables', '-t', 'nat', '-S', chain]).status, chain).not.toBe(0);
  });

  it('a controller killed between CNI ADD and its record leaks no address and makes no second interface', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { command: HTTPD, network: net.spec() }));
    const bin = POCKER_BIN;
    const args = ['reconcile', '--once', ...instanceFlags(inst), '--cni-conf-dir', net.opts.confDir, '--log-level', 'silent'];
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, POCKER_FAULT: 'create:cni-added:web=kill' },
      stdio: 'ignore',
    });
    const code = await new Promise<string | null>((r) => child.once('exit', (_c, sig) => r(sig)));
    expect(code).toBe('SIGKILL');
    expect(net.allocations()).toHaveLength(1);
    const r = await pass();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(net.allocations()).toEqual([addressOf('web')]);
    expect(net.ports()).toHaveLength(1);
    expect(inst.container('web').initAlive).toBe(true);
  });

  it('after a simulated reboot (processes and state gone, host-local reservations kept) starts again on its layer without leaking the old address', async () => {
    inst.writeSpec(
      'web.yaml',
      inst.spec('web', {
        command: ['sh', '-c', 'echo run >> /runs; exec sleep 3600'],
        network: net.spec([{ host: 31777, container: 8080 }]),
      }),
    );
    expect((await pass()).ok).toBe(true);
    const before = net.allocations();
    await simulateReboot(inst);
    const r = await pass();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(r.results.map((x) => x.kind)).toEqual(['restart']);
    expect(net.allocations()).toHaveLength(1);
    expect(net.allocations()).toEqual([addressOf('web')]);
    expect(before).toHaveLength(1);
    expect(net.ports()).toHaveLength(1);
    expect(net.natRules().filter((l) => l.includes('-A POSTROUTING'))).toHaveLength(1);
    await until(
      () => readFileSync(join(containerPaths(inst.dirs, 'web').upper, 'runs'), 'utf8') === 'run\nrun\n',
      'second run on the same layer',
    );
  });

  it('repairs a container whose veth vanished by attaching it again and restarting it on its layer', async () => {
    inst.writeSpec('web.yaml', inst.spec('web', { command: ['sh', '-c', 'echo run >> /runs; exec sleep 3600'], network: net.spec() }));
    const first = await pass();
    expect(first.ok, JSON.stringify([first.results, first.load.errors, first.plan.problems])).toBe(true);
    const pid = inst.pid('web');
    const veth = readNetworkRecord(inst.host, inst.dirs, 'web')!.hostVeth!;
    expect(sh(['ip', 'link', 'delete', veth]).status).toBe(0);
    const r = await pass();
    expect(r.plan.actions.find((a) => a.name === 'web')?.reason).toContain(`veth ${veth} is gone`);
    expect(r.results.map((x) => [x.kind, x.ok])).toEqual([['restart', true]]);
    expect(inst.pid('web')).not.toBe(pid);
    expect(net.allocations()).toEqual([addressOf('web')]);
    expect(net.ports()).toHaveLength(1);
    await until(
      () => readFileSync(join(containerPaths(inst.dirs, 'web').upper, 'runs'), 'utf8') === 'run\nrun\n',
      'second run on the same layer',
    );
  });

  it('reports an invalid subnet, a port published twice and a missing plugin on those containers only', async () => {
    inst.writeSpec('keep.yaml', inst.spec('keep', { network: net.spec() }));
    expect((await pass()).ok).toBe(true);
    const keepPid = inst.pid('keep');

    inst.writeSpec('a.yaml', inst.spec('a', { network: net.spec([{ host: 31999, container: 80 }]) }));
    inst.writeSpec('b.yaml', inst.spec('b', { network: net.spec([{ host: 31999, container: 81 }]) }));
    let r = await pass();
    expect(r.ok).toBe(false);
    expect(r.load.errors.map((e) => e.message).join('\n')).toMatch(/host port tcp\/31999 of "a" is also published by "b"/);
    inst.removeSpec('a.yaml');
    inst.removeSpec('b.yaml');

    writeFileSync(
      join(net.opts.confDir, 'bad.conflist'),
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'bad',
        plugins: [{ type: 'bridge', bridge: 'ptbad0', ipam: { type: 'host-local', ranges: [[{ subnet: '10.1.2.300/24' }]] } }],
      }),
    );
    inst.writeSpec('c.yaml', inst.spec('c', { network: { mode: 'bridge', name: 'bad' } }));
    r = await pass();
    expect(r.results.find((x) => x.name === 'c')?.error).toMatch(/subnet "10\.1\.2\.300\/24" is not an IPv4 subnet/);
    inst.removeSpec('c.yaml');

    inst.writeSpec('d.yaml', inst.spec('d', { network: net.spec() }));
    r = await pass({ network: { ...net.opts, binDir: join(inst.root, 'no-plugins') } });
    expect(r.results.find((x) => x.name === 'd')?.error).toMatch(/CNI plugin "bridge" of network "pt-\w+" not found in .*no-plugins/);
    inst.removeSpec('d.yaml');
    expect((await pass()).ok).toBe(true);

    expect(inst.pid('keep')).toBe(keepPid);
    expect([...inst.actual().containers.keys()]).toEqual(['keep']);
  });
});
