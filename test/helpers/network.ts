import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { defaultConflist, type NetworkOptions } from '../../reconciler/network/conflist.js';
import { collidingRoutes, formatIpv4, parseProcRoutes } from '../../reconciler/network/cidr.js';
import { removeNetwork } from '../../reconciler/network/remove.js';
import { netnsDir } from '../../reconciler/state/layout.js';
import type { TestInstance } from './instance.js';
import { kernelRequirements } from './kernel.js';

const CNI_BIN = '/usr/lib/cni';

/** What network tests need beyond the real-kernel ones. */
export function networkRequirements(): string[] {
  const missing = kernelRequirements();
  for (const p of ['bridge', 'host-local', 'portmap']) {
    try {
      accessSync(join(CNI_BIN, p), constants.X_OK);
    } catch {
      missing.push(`CNI plugin ${p} missing (apt-get install containernetworking-plugins)`);
    }
  }
  for (const tool of ['iptables', 'ip', 'nft', 'nsenter'])
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      missing.push(`${tool} missing (apt-get install iptables iproute2 nftables util-linux)`);
  return missing;
}

/** describe() for network tests: skipped with the reason when something is missing, failing on CI. */
export function describeNetwork(name: string, fn: () => void): void {
  const missing = networkRequirements();
  if (!missing.length) describe.sequential(name, fn);
  else if (process.env.CI === 'true')
    describe(name, () =>
      it('has what network tests need', () => {
        throw new Error(`network tests cannot run on CI: ${missing.join('; ')}`);
      }),
    );
  else describe.skip(`${name} [skipped: ${missing.join('; ')}]`, fn);
}

export function sh(argv: string[], input?: string): { status: number; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', ...(input !== undefined && { input }), timeout: 20_000 });
  return { status: r.status ?? -1, out: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

/** A /24 in 10.200-249.x.0 that no host route touches. */
function freeSubnet(): string {
  const routes = parseProcRoutes(readFileSync('/proc/net/route', 'utf8'));
  for (let i = 0; i < 1000; i++) {
    const addr = 10 * 2 ** 24 + (200 + Math.floor(Math.random() * 50)) * 2 ** 16 + Math.floor(Math.random() * 256) * 2 ** 8;
    if (!collidingRoutes({ addr, prefix: 24 }, routes, '').length) return `${formatIpv4(addr)}/24`;
  }
  throw new Error('no free /24 for the test network');
}

/**
 * A CNI network of one test: its own conflist dir, network name, bridge, subnet and IPAM dir, so
 * nothing is shared with the host's networks. close() removes it and checks nothing is left;
 * the ip_forward sysctl the bridge plugin turns on is restored.
 */
export class TestNetwork {
  readonly name: string;
  readonly bridge: string;
  readonly subnet: string;
  readonly ipamDir: string;
  readonly opts: NetworkOptions;
  private readonly ipForward = readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

  constructor(
    private readonly inst: TestInstance,
    subnet?: string,
  ) {
    const tag = Math.random().toString(36).slice(2, 8);
    this.name = `pt-${tag}`;
    this.bridge = `pt${tag}`;
    this.subnet = subnet ?? freeSubnet();
    const confDir = join(inst.root, 'cni');
    this.ipamDir = join(inst.root, 'ipam');
    mkdirSync(confDir, { recursive: true });
    const conf = defaultConflist(this.name, this.bridge, this.subnet);
    (conf.plugins[0]!['ipam'] as Record<string, unknown>)['dataDir'] = this.ipamDir;
    writeFileSync(join(confDir, `${this.name}.conflist`), JSON.stringify(conf));
    this.opts = { confDir, binDir: CNI_BIN, subnet: this.subnet, bridge: this.bridge };
  }

  /** network section of a spec on this network. */
  spec(ports: Array<Record<string, unknown>> = []): Record<string, unknown> {
    return { mode: 'bridge', name: this.name, ...(ports.length && { ports }) };
  }

  /** Addresses host-local holds for this network. */
  allocations(): string[] {
    const dir = join(this.ipamDir, this.name);
    return existsSync(dir) ? readdirSync(dir).filter((f) => /^[0-9.]+$/.test(f)) : [];
  }

  /** Interfaces enslaved to the bridge (the host ends of container veths). */
  ports(): string[] {
    const dir = `/sys/class/net/${this.bridge}/brif`;
    return existsSync(dir) ? readdirSync(dir) : [];
  }

  /** nat rules or chains that name a container of this test instance. */
  natRules(): string[] {
    const tag = `pocker-${this.inst.dirs.cgroupParent}`;
    return sh(['iptables-save', '-t', 'nat'])
      .out.split('\n')
      .filter((l) => l.includes(tag));
  }

  /** What is left of the test's containers on the network. */
  leftovers(): string[] {
    const netns = netnsDir(this.inst.dirs);
    return [
      ...this.allocations().map((a) => `IPAM address ${a}`),
      ...this.ports().map((p) => `veth ${p} on ${this.bridge}`),
      ...this.natRules().map((r) => `nat rule: ${r}`),
      ...(existsSync(netns) ? readdirSync(netns).map((n) => `pinned netns ${n}`) : []),
    ];
  }

  /**
   * The end of a test: removes every container of the test's spec dir through pocker, then the
   * network. Returns the removals that failed and what was left on the network before closing it.
   */
  async tearDown(): Promise<{ failed: string[]; left: string[] }> {
    const { downSource } = await import('../../reconciler/controller/once.js');
    const i = this.inst;
    const down = await downSource({ dir: i.specDir, dirs: i.dirs, host: i.host, driver: i.driver, network: this.opts });
    const left = this.leftovers();
    this.close();
    return { failed: down.results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error ?? 'failed'}`), left };
  }

  /** Removes the network (bridge, shared chains when empty), restores ip_forward. */
  close(): void {
    try {
      if (existsSync(`/sys/class/net/${this.bridge}`)) removeNetwork(this.inst.host, this.name, this.inst.dirs, this.opts);
    } finally {
      writeFileSync('/proc/sys/net/ipv4/ip_forward', this.ipForward);
    }
  }
}

/**
 * A network namespace a test makes to act as an outside client: wired to the host by a veth with
 * its own /30 (the host end `hostAddr`, the client `address`). `remove()` deletes both.
 */
export class ClientNamespace {
  readonly name: string;
  readonly hostAddr: string;
  readonly address: string;
  private readonly hostEnd: string;

  constructor() {
    const tag = Math.random().toString(36).slice(2, 7);
    this.name = `ptc-${tag}`;
    this.hostEnd = `pth${tag}`;
    const nsEnd = `ptn${tag}`;
    this.hostAddr = `10.199.${Math.floor(Math.random() * 250)}.1`;
    this.address = this.hostAddr.replace(/\.1$/, '.2');
    for (const argv of [
      ['ip', 'netns', 'add', this.name],
      ['ip', 'link', 'add', this.hostEnd, 'type', 'veth', 'peer', 'name', nsEnd, 'netns', this.name],
      ['ip', 'addr', 'add', `${this.hostAddr}/30`, 'dev', this.hostEnd],
      ['ip', 'link', 'set', this.hostEnd, 'up'],
      ['ip', '-n', this.name, 'addr', 'add', `${this.address}/30`, 'dev', nsEnd],
      ['ip', '-n', this.name, 'link', 'set', nsEnd, 'up'],
      ['ip', '-n', this.name, 'link', 'set', 'lo', 'up'],
    ]) {
      const r = sh(argv);
      if (r.status !== 0) {
        this.remove();
        throw new Error(`${argv.join(' ')}: ${r.out}`);
      }
    }
  }

  /** GET url from inside the namespace (2 s at most): the body, or the error's message. */
  get(url: string): string {
    return sh([
      'ip',
      'netns',
      'exec',
      this.name,
      process.execPath,
      '-e',
      `require('http').get(${JSON.stringify(url)}, { timeout: 2000 }, (r) => r.pipe(process.stdout)).on('timeout', function () { this.destroy(new Error('timeout')); }).on('error', (e) => console.log(e.message))`,
    ]).out;
  }

  remove(): void {
    sh(['ip', 'link', 'delete', this.hostEnd]);
    sh(['ip', 'netns', 'delete', this.name]);
  }
}
