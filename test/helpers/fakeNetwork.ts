import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { CniExec, PluginRun } from '../../reconciler/host/cniExec.js';
import type { NetAdmin } from '../../reconciler/host/netAdmin.js';
import type { NetnsFirewall, NftResult } from '../../reconciler/host/firewall.js';

/** What the fake plugins need of the fake host: files, and whether a namespace is pinned. */
export interface FakeNetworkHost {
  readFile(path: string): string | null;
  readDir(path: string): string[] | null;
  mkdir(path: string): void;
  writeFileAtomic(path: string, data: string): void;
  removeFile(path: string): void;
  kind(path: string): 'dir' | 'file' | 'other' | null;
  /** Creates the link /sys/class/net/NAME, owned by a namespace path (it goes when the namespace does) or by the host. */
  addLink(name: string, netns: string | null): void;
  removeLink(name: string): boolean;
}

const BUILTIN_CHAINS = ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'];

function quote(arg: string): string {
  return /[\s"\\]/.test(arg) || arg === '' ? `"${arg.replace(/["\\]/g, '\\$&')}"` : arg;
}

/**
 * An in-memory nat table and `ip link delete`, behaving as iptables does where pocker depends on
 * it: -S of a missing chain fails, -X of a chain that has rules or is jumped to fails, -D of a
 * rule that is not there fails.
 */
export class FakeNetAdmin implements NetAdmin {
  /** Chain → rules (the arguments after `-A CHAIN`). */
  readonly chains = new Map<string, string[][]>(BUILTIN_CHAINS.map((c) => [c, []]));
  /** Every nat call, in order (for tests that count them). */
  readonly calls: string[][] = [];

  constructor(private readonly host: FakeNetworkHost) {}

  /** Appends a rule, making its chain (and a CNI-* target chain) as iptables -N would. */
  append(chain: string, rule: string[]): void {
    if (!this.chains.has(chain)) this.chains.set(chain, []);
    this.chains.get(chain)!.push(rule);
  }

  /** Every rule of the table as `-A CHAIN ARGS` lines. */
  rules(): string[] {
    return [...this.chains].flatMap(([c, rules]) => rules.map((r) => ['-A', c, ...r].map(quote).join(' ')));
  }

  saveNat(): string | null {
    const heads = [...this.chains.keys()].map((c) => `:${c} ${BUILTIN_CHAINS.includes(c) ? 'ACCEPT' : '-'} [0:0]`);
    return ['*nat', ...heads, ...this.rules(), 'COMMIT', ''].join('\n');
  }

  nat(args: readonly string[]): { ok: boolean; out: string } {
    this.calls.push([...args]);
    const [op, chain, ...rule] = args;
    const rules = chain === undefined ? undefined : this.chains.get(chain);
    const fail = (why: string): { ok: boolean; out: string } => ({ ok: false, out: `iptables: ${why}.\n` });
    switch (op) {
      case '-S':
        if (!rules) return fail('No chain/target/match by that name');
        return { ok: true, out: [`-N ${chain}`, ...rules.map((r) => ['-A', chain!, ...r].map(quote).join(' ')), ''].join('\n') };
      case '-N':
        if (rules) return fail('Chain already exists');
        this.chains.set(chain!, []);
        return { ok: true, out: '' };
      case '-A':
        if (!rules) return fail('No chain/target/match by that name');
        rules.push(rule);
        return { ok: true, out: '' };
      case '-D': {
        const i = rules?.findIndex((r) => r.length === rule.length && r.every((a, k) => a === rule[k])) ?? -1;
        if (i < 0) return fail('Bad rule (does a matching rule exist in that chain?)');
        rules!.splice(i, 1);
        return { ok: true, out: '' };
      }
      case '-F':
        if (!rules) return fail('No chain/target/match by that name');
        rules.length = 0;
        return { ok: true, out: '' };
      case '-X': {
        if (!rules) return fail('No chain/target/match by that name');
        const jumped = [...this.chains.values()].some((rs) => rs.some((r) => r[r.indexOf('-j') + 1] === chain));
        if (rules.length || jumped || BUILTIN_CHAINS.includes(chain!)) return fail('Directory not empty');
        this.chains.delete(chain!);
        return { ok: true, out: '' };
      }
      default:
        return fail(`unknown option ${op}`);
    }
  }

  deleteLink(name: string): { ok: boolean; out: string } {
    return this.host.removeLink(name) ? { ok: true, out: '' } : { ok: false, out: `Cannot find device "${name}"\n` };
  }
}

interface PluginStdin {
  cniVersion: string;
  name: string;
  type: string;
  bridge?: string;
  ipMasq?: boolean;
  ipam?: { type?: string; dataDir?: string; ranges?: Array<Array<{ subnet: string }>> };
  runtimeConfig?: { portMappings?: Array<{ hostPort: number; containerPort: number; protocol: string }> };
}

/** A CNI call the fake saw. */
export interface CniCall {
  plugin: string;
  command: string;
  containerId: string;
  netns: string;
}

/**
 * Debian's bridge (with host-local IPAM) and portmap plugins, in memory, as far as pocker relies on
 * them: ADD needs the namespace, reserves the lowest free address in host-local's dir (one file per
 * address holding the container id), makes a host veth and the nat rules tagged with the container
 * id (masquerade chain, one DNAT chain per published port set); DEL releases all of it and is
 * idempotent. `hang` and `fail` make a plugin misbehave for one command.
 */
export class FakeCni implements CniExec {
  /** Plugins present in a bin dir (path = binDir/type). */
  readonly installed = new Set(['bridge', 'host-local', 'portmap', 'loopback']);
  readonly calls: CniCall[] = [];
  /** `type:COMMAND` keys whose runs hang until killed by the timeout. */
  readonly hang = new Set<string>();
  /** `type:COMMAND` keys whose runs fail with this message. */
  readonly fail = new Map<string, string>();

  constructor(
    private readonly host: FakeNetworkHost,
    private readonly net: FakeNetAdmin,
  ) {}

  available(path: string): boolean {
    return this.installed.has(posix.basename(path));
  }

  async run(path: string, env: Record<string, string>, stdin: string, timeoutMs: number): Promise<PluginRun> {
    const type = posix.basename(path);
    const command = env['CNI_COMMAND']!;
    const id = env['CNI_CONTAINERID']!;
    const netns = env['CNI_NETNS'] ?? '';
    this.calls.push({ plugin: type, command, containerId: id, netns });
    if (!this.installed.has(type))
      return { code: null, stdout: '', stderr: '', timedOut: false, spawnError: new Error(`spawn ${path} ENOENT`) };
    const key = `${type}:${command}`;
    if (this.hang.has(key)) {
      await new Promise((r) => setTimeout(r, timeoutMs));
      return { code: null, stdout: '', stderr: '', timedOut: true };
    }
    const failure = this.fail.get(key);
    if (failure) return { code: 1, stdout: JSON.stringify({ code: 999, msg: failure }), stderr: '', timedOut: false };
    const conf = JSON.parse(stdin) as PluginStdin;
    try {
      const out =
        type === 'bridge'
          ? this.bridge(command, conf, id, netns, env['CNI_IFNAME']!)
          : type === 'portmap'
            ? this.portmap(command, conf, id, stdin)
            : null;
      return { code: 0, stdout: out === null ? '' : JSON.stringify(out), stderr: '', timedOut: false };
    } catch (e) {
      return { code: 1, stdout: JSON.stringify({ code: 11, msg: (e as Error).message }), stderr: '', timedOut: false };
    }
  }

  /** Tag of a container's rules, as the plugins write it. */
  static comment(network: string, id: string): string {
    return `name: "${network}" id: "${id}"`;
  }

  private static chainOf(prefix: string, network: string, id: string): string {
    return `${prefix}${createHash('sha1')
      .update(`${network}${id}`)
      .digest('hex')
      .slice(0, 24 - prefix.length)}`;
  }

  private ipamDir(conf: PluginStdin): string {
    return posix.join(conf.ipam?.dataDir ?? '/var/lib/cni/networks', conf.name);
  }

  private bridge(command: string, conf: PluginStdin, id: string, netns: string, ifname: string): object | null {
    const dir = this.ipamDir(conf);
    const bridge = conf.bridge ?? 'cni0';
    const veth = `veth${createHash('sha1').update(id).digest('hex').slice(0, 8)}`;
    const chain = FakeCni.chainOf('CNI-', conf.name, id);
    if (command === 'DEL') {
      for (const f of this.host.readDir(dir) ?? []) {
        if (/^[0-9.]+$/.test(f) && (this.host.readFile(posix.join(dir, f)) ?? '').split('\n')[0] === id)
          this.host.removeFile(posix.join(dir, f));
      }
      this.host.removeLink(veth);
      const post = this.net.chains.get('POSTROUTING')!;
      for (let i = post.length - 1; i >= 0; i--) if (post[i]![post[i]!.indexOf('-j') + 1] === chain) post.splice(i, 1);
      this.net.chains.delete(chain);
      return null;
    }
    if (this.host.kind(netns) !== 'file') throw new Error(`failed to open netns "${netns}": no such file or directory`);
    const subnet = conf.ipam!.ranges![0]![0]!.subnet;
    const [base, prefix] = subnet.split('/') as [string, string];
    const octets = base.split('.').map(Number);
    this.host.mkdir(dir);
    const taken = new Set(this.host.readDir(dir) ?? []);
    let address: string | undefined;
    for (let last = 2; last < 255 && !address; last++) {
      const ip = [...octets.slice(0, 3), last].join('.');
      if (!taken.has(ip)) address = ip;
    }
    if (!address) throw new Error(`no IP addresses available in range set: ${subnet}`);
    this.host.writeFileAtomic(posix.join(dir, address), `${id}\n${ifname}`);
    if (this.host.kind(`/sys/class/net/${bridge}`) === null) this.host.addLink(bridge, null);
    this.host.addLink(veth, netns);
    if (conf.ipMasq) {
      const comment = FakeCni.comment(conf.name, id);
      this.net.append(chain, ['-d', subnet, '-m', 'comment', '--comment', comment, '-j', 'ACCEPT']);
      this.net.append(chain, ['!', '-d', '224.0.0.0/4', '-m', 'comment', '--comment', comment, '-j', 'MASQUERADE']);
      this.net.append('POSTROUTING', ['-s', `${address}/32`, '-m', 'comment', '--comment', comment, '-j', chain]);
    }
    const gateway = [...octets.slice(0, 3), 1].join('.');
    return {
      cniVersion: conf.cniVersion,
      interfaces: [{ name: bridge }, { name: veth }, { name: ifname, sandbox: netns }],
      ips: [{ address: `${address}/${prefix}`, gateway, interface: 2 }],
    };
  }

  private portmap(command: string, conf: PluginStdin, id: string, stdin: string): object | null {
    const chain = FakeCni.chainOf('CNI-DN-', conf.name, id);
    const dnat = 'CNI-HOSTPORT-DNAT';
    const comment = `dnat ${FakeCni.comment(conf.name, id)}`;
    if (command === 'DEL') {
      const jumps = this.net.chains.get(dnat);
      if (jumps) for (let i = jumps.length - 1; i >= 0; i--) if (jumps[i]![jumps[i]!.indexOf('-j') + 1] === chain) jumps.splice(i, 1);
      this.net.chains.delete(chain);
      return null;
    }
    const prev = (JSON.parse(stdin) as { prevResult?: object }).prevResult ?? null;
    const maps = conf.runtimeConfig?.portMappings ?? [];
    if (!maps.length) return prev;
    if (!this.net.chains.has(dnat)) {
      this.net.append(dnat, []);
      this.net.chains.get(dnat)!.length = 0;
      this.net.append('PREROUTING', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', dnat]);
      this.net.append('OUTPUT', ['-m', 'addrtype', '--dst-type', 'LOCAL', '-j', dnat]);
    }
    for (const m of maps)
      this.net.append(chain, ['-p', m.protocol, '--dport', String(m.hostPort), '-m', 'comment', '--comment', comment, '-j', 'DNAT']);
    this.net.append(dnat, [
      '-p',
      'tcp',
      '-m',
      'comment',
      '--comment',
      comment,
      '-m',
      'multiport',
      '--dports',
      maps.map((m) => m.hostPort).join(','),
      '-j',
      chain,
    ]);
    return prev;
  }
}

/** nftables of each pinned namespace kept in memory: the script applied last per namespace, listed back as JSON. */
export class FakeFirewall implements NetnsFirewall {
  /** Namespace path → the table's script (absent: no table). */
  readonly tables = new Map<string, string>();
  /** Every apply, in order. */
  readonly applied: Array<{ netns: string; script: string }> = [];
  /** Makes the next applies fail with this message (nft refusing a script). */
  failNext: string | null = null;

  apply(netns: string, script: string): Promise<NftResult> {
    this.applied.push({ netns, script });
    if (this.failNext) {
      const out = this.failNext;
      this.failNext = null;
      return Promise.resolve({ ok: false, out });
    }
    const body = script.split('\n').slice(2).join('\n').trim();
    if (body) this.tables.set(netns, body);
    else this.tables.delete(netns);
    return Promise.resolve({ ok: true, out: '' });
  }

  list(netns: string): Promise<NftResult & { missing?: boolean }> {
    const t = this.tables.get(netns);
    if (t === undefined) return Promise.resolve({ ok: false, out: 'Error: No such file or directory', missing: true });
    return Promise.resolve({
      ok: true,
      out: JSON.stringify({ nftables: [{ metainfo: { version: 'fake' } }, { table: { body: t, handle: 1 } }] }),
    });
  }
}
