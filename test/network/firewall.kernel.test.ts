import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { readNetworkRecord } from '../../reconciler/network/attach.js';
import { networkPaths } from '../../reconciler/state/layout.js';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { ClientNamespace, describeNetwork, sh, TestNetwork } from '../helpers/network.js';

/** A busybox web server answering with its hostname on 8080 (it answers ping too). */
const HTTPD = ['sh', '-c', 'mkdir -p /tmp/www && hostname > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'];

describeNetwork('per-container firewall: nftables rules inside each container network namespace', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    const { failed, left } = await net.tearDown();
    expect(failed).toEqual([]);
    expect(left).toEqual([]);
  });

  const addressOf = (name: string): string => readNetworkRecord(inst.host, inst.dirs, name)!.address!;
  const pass = () => inst.reconcile({ network: net.opts });
  /** A pass that must succeed (its failures are the message). */
  const passOk = async () => {
    const r = await pass();
    expect(r.ok, JSON.stringify({ errors: r.load.errors, problems: r.plan.problems, failed: r.results.filter((x) => !x.ok) })).toBe(true);
    return r;
  };
  const web = (name: string, network: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
    inst.spec(name, { command: HTTPD, network: { ...net.spec(), ...network }, ...extra });
  /** Whether `from` gets an answer over TCP from `to`'s web server within 1 s. */
  const tcp = (from: string, to: string): boolean =>
    pocker(inst, 'exec', [from, '--', 'timeout', '1', 'wget', '-q', '-O', '-', `http://${addressOf(to)}:8080/`]).stdout === `${to}\n`;
  /** Whether `from` gets a ping reply from `to` within 1 s. */
  const ping = (from: string, to: string): boolean =>
    pocker(inst, 'exec', [from, '--', 'timeout', '1', 'ping', '-c', '1', '-W', '1', addressOf(to)]).status === 0;
  /** The host's ruleset without its counters (iptables-nft counts the test's own traffic). */
  /** An address as nft lists it in a rule (alone, or in a set). */
  const addressPattern = (addr: string): RegExp => new RegExp(`saddr (\\{ [^}]*)?\\b${addr.replace(/\./g, '\\.')}\\b`);
  const hostRuleset = (): string => sh(['nft', 'list', 'ruleset']).out.replace(/counter packets \d+ bytes \d+/g, 'counter');
  const tableIn = (name: string): string =>
    sh(['nsenter', `--net=${networkPaths(inst.dirs, name).netns}`, '--', 'nft', 'list', 'table', 'inet', 'pocker']).out;

  it('ingress from one name: the others get no reply within 1 s, the pid stays; removing the rule lets them in again', async () => {
    for (const n of ['a', 'b', 'c']) inst.writeSpec(`${n}.yaml`, web(n));
    await passOk();
    expect([tcp('b', 'a'), ping('b', 'a'), tcp('c', 'a'), ping('c', 'a')]).toEqual([true, true, true, true]);
    const pid = inst.pid('a');

    inst.writeSpec('a.yaml', web('a', { ingress: [{ from: 'c' }] }));
    const plan = pocker(inst, 'plan');
    expect(plan.stdout).toMatch(/update\s+a\s.*firewall rules: \+chain ingress.*\+ip saddr \{ [0-9.]+\/32 \} accept comment "c"/);
    const applied = await pass();
    expect(applied.results.map((r) => [r.name, r.kind, r.ok])).toEqual([['a', 'update', true]]);
    expect(inst.pid('a')).toBe(pid);
    expect([tcp('b', 'a'), ping('b', 'a')]).toEqual([false, false]);
    expect([tcp('c', 'a'), ping('c', 'a')]).toEqual([true, true]);
    expect(tcp('a', 'b')).toBe(true);

    // The name follows c to its new address when c is recreated.
    const oldC = addressOf('c');
    inst.writeSpec('c.yaml', web('c', {}, { env: { GENERATION: '2' } }));
    await pass();
    expect(addressOf('c')).not.toBe(oldC);
    expect(tableIn('a')).toMatch(addressPattern(addressOf('c')));
    expect(tableIn('a')).not.toMatch(addressPattern(oldC));
    expect(tcp('c', 'a')).toBe(true);
    expect(tcp('b', 'a')).toBe(false);

    // Drift: a table edited behind pocker's back is shown by plan and restored by the next pass.
    expect(
      sh(['nsenter', `--net=${networkPaths(inst.dirs, 'a').netns}`, '--', 'nft', 'insert', 'rule', 'inet', 'pocker', 'ingress', 'accept'])
        .status,
    ).toBe(0);
    expect(tcp('b', 'a')).toBe(true);
    expect(pocker(inst, 'plan').stdout).toMatch(/update\s+a\s.*firewall table edited inside the container namespace/);
    expect((await pass()).results.map((r) => [r.name, r.kind])).toEqual([['a', 'update']]);
    expect(tcp('b', 'a')).toBe(false);
    expect((await pass()).results).toEqual([]);

    inst.writeSpec('a.yaml', web('a'));
    expect((await pass()).results.map((r) => r.kind)).toEqual(['update']);
    expect([tcp('b', 'a'), ping('b', 'a')]).toEqual([true, true]);
    expect(inst.pid('a')).toBe(pid);
    expect(tableIn('a')).toMatch(/No such file or directory/);
    expect(hostRuleset()).not.toMatch(/table inet pocker/);
  });

  it('egress to one name keeps a from reaching b while replies to connections into a still flow', async () => {
    for (const n of ['b', 'c']) inst.writeSpec(`${n}.yaml`, web(n));
    inst.writeSpec('a.yaml', web('a', { egress: [{ to: 'c', ports: [8080] }] }));
    await passOk();
    expect(tcp('a', 'c')).toBe(true);
    expect(tcp('a', 'b')).toBe(false);
    expect(ping('a', 'c')).toBe(false);
    expect(tcp('b', 'a')).toBe(true);
  });

  it('a published port with ingress from a CIDR: refused to a client outside it, answered inside; 50 add/remove cycles leave the host ruleset as it was', async () => {
    const hostPort = 20000 + Math.floor(Math.random() * 20000);
    const client = new ClientNamespace();
    try {
      const published = (cidr: string | null) =>
        web('a', { ports: [{ host: hostPort, container: 8080 }], ...(cidr && { ingress: [{ from: cidr, ports: [8080] }] }) });
      inst.writeSpec('a.yaml', published('192.0.2.0/24'));
      await passOk();
      const url = `http://${client.hostAddr}:${hostPort}/`;
      expect(client.get(url)).toMatch(/timeout|ECONNREFUSED|ECONNRESET/);
      inst.writeSpec('a.yaml', published(`${client.address.replace(/\.2$/, '.0')}/30`));
      await pass();
      expect(client.get(url)).toBe('a\n');
      const pid = inst.pid('a');
      const before = hostRuleset();
      for (let i = 0; i < 50; i++) {
        inst.writeSpec('a.yaml', published(i % 2 ? '192.0.2.0/24' : null));
        const r = await pass();
        expect(r.results.map((x) => [x.kind, x.ok])).toEqual([['update', true]]);
      }
      expect(inst.pid('a')).toBe(pid);
      expect(hostRuleset()).toBe(before);
      expect(before).not.toMatch(/table inet pocker/);
    } finally {
      client.remove();
    }
  });

  it('the watching controller moves a rule naming a container to its new address as soon as it is recreated', async () => {
    for (const n of ['b', 'c']) inst.writeSpec(`${n}.yaml`, web(n));
    inst.writeSpec('a.yaml', web('a', { ingress: [{ from: 'c' }] }));
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      network: net.opts,
      resyncMs: 3_600_000,
      removalDelayMs: 50,
      healthChecks: false,
    });
    await ctl.start();
    try {
      await expect.poll(() => ['a', 'b', 'c'].every((n) => inst.runningPid(n) !== null), { timeout: 10_000 }).toBe(true);
      await expect.poll(() => tcp('c', 'a'), { timeout: 5000 }).toBe(true);
      const oldC = addressOf('c');
      inst.writeSpec('c.yaml', web('c', {}, { env: { GENERATION: '2' } }));
      await expect.poll(() => inst.runningPid('c') !== null && addressOf('c') !== oldC, { timeout: 10_000 }).toBe(true);
      await expect.poll(() => tableIn('a'), { timeout: 2000, interval: 20 }).toMatch(addressPattern(addressOf('c')));
      expect(tcp('c', 'a')).toBe(true);
      expect(tcp('b', 'a')).toBe(false);
    } finally {
      await ctl.stop();
    }
  });
});
