import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { RuntimeError } from '../host/errors.js';
import { containersDataDir, type InstanceDirs } from '../state/layout.js';
import type { HostReader } from '../host/host.js';
import { isContainerName } from '../spec/names.js';
import { readNetworkRecord } from './attach.js';
import { bridgeOf, hostLocalDir, loadNetwork, reservations, type NetworkOptions } from './conflist.js';
import { IPTABLES_TIMEOUT_MS, splitRule } from './natSweep.js';

/** The shared nat chains portmap keeps for every CNI network on the host; removed only when no rule is left in them. */
const PORTMAP_CHAINS = [
  { chain: 'CNI-HOSTPORT-DNAT', from: ['PREROUTING', 'OUTPUT'] },
  { chain: 'CNI-HOSTPORT-SETMARK', from: [] },
  { chain: 'CNI-HOSTPORT-MASQ', from: ['POSTROUTING'] },
];

function run(argv: string[]): { ok: boolean; out: string } {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: IPTABLES_TIMEOUT_MS, killSignal: 'SIGKILL' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

/** Names of this instance's containers attached to a network. */
export function containersOn(host: HostReader, dirs: InstanceDirs, network: string): string[] {
  const names = [...new Set([...(host.readDir(containersDataDir(dirs)) ?? []), ...(host.readDir(dirs.stateDir) ?? [])])].filter(isContainerName);
  return names.filter((n) => readNetworkRecord(host, dirs, n)?.network === network);
}

/** Removes a portmap chain when it holds no rule any more, with the jumps to it. */
function removeEmptyChain(chain: string, from: string[]): boolean {
  const list = run(['iptables', '-w', '-t', 'nat', '-S', chain]);
  if (!list.ok) return false;
  const rules = list.out.split('\n').filter((l) => l.startsWith('-A '));
  if (rules.length) return false;
  for (const parent of from) {
    const jumps = run(['iptables', '-w', '-t', 'nat', '-S', parent]).out.split('\n').filter((l) => l.startsWith(`-A ${parent} `) && l.includes(`-j ${chain}`));
    for (const j of jumps) run(['iptables', '-w', '-t', 'nat', '-D', ...splitRule(j).slice(1)]);
  }
  return run(['iptables', '-w', '-t', 'nat', '-X', chain]).ok;
}

/**
 * `pocker network rm NAME`: removes what the plugins keep by design once no container of this
 * instance uses the network: its bridge, portmap's shared chains when empty, and the IPAM dir
 * when it holds no allocation. The conflist stays (it is configuration).
 */
export function removeNetwork(host: HostReader, name: string, dirs: InstanceDirs, opts: NetworkOptions): string[] {
  const users = containersOn(host, dirs, name);
  if (users.length) throw new RuntimeError('NETWORK', `network "${name}" is in use by ${users.join(', ')}; remove those containers first`);
  const conf = loadNetwork(name, opts, false);
  const done: string[] = [];
  const b = bridgeOf(conf);
  if (b && existsSync(join('/sys/class/net', b.bridge))) {
    const r = run(['ip', 'link', 'delete', b.bridge]);
    if (!r.ok) throw new RuntimeError('NETWORK', `ip link delete ${b.bridge}: ${r.out.trim()}`);
    done.push(`bridge ${b.bridge}`);
  }
  // The DNAT chain holds one jump per container with published ports; the other two only their
  // fixed rule, and are needed exactly while the DNAT chain is.
  const [dnat, ...rest] = PORTMAP_CHAINS;
  if (removeEmptyChain(dnat!.chain, dnat!.from)) done.push(`chain ${dnat!.chain}`);
  if (!run(['iptables', '-w', '-t', 'nat', '-S', dnat!.chain]).ok) {
    for (const c of rest) {
      run(['iptables', '-w', '-t', 'nat', '-F', c.chain]);
      if (removeEmptyChain(c.chain, c.from)) done.push(`chain ${c.chain}`);
    }
  }
  const ipamDir = hostLocalDir(conf);
  if (ipamDir && existsSync(ipamDir)) {
    if (!reservations(ipamDir).length) {
      for (const f of readdirSync(ipamDir)) rmSync(join(ipamDir, f), { force: true });
      rmdirSync(ipamDir);
      done.push(`IPAM dir ${ipamDir}`);
    }
  }
  return done;
}
