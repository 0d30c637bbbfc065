import { join } from 'node:path';
import { RuntimeError } from '../host/errors.js';
import type { Host, HostReader } from '../host/host.js';
import type { NetAdmin } from '../host/netAdmin.js';
import { containersDataDir, type InstanceDirs } from '../state/layout.js';
import { isContainerName } from '../spec/names.js';
import { readNetworkRecord } from './attach.js';
import { bridgeOf, hostLocalDir, loadNetwork, reservations, type NetworkOptions } from './conflist.js';
import { splitRule } from './natSweep.js';

/** The shared nat chains portmap keeps for every CNI network on the host; removed only when no rule is left in them. */
const PORTMAP_CHAINS = [
  { chain: 'CNI-HOSTPORT-DNAT', from: ['PREROUTING', 'OUTPUT'] },
  { chain: 'CNI-HOSTPORT-SETMARK', from: [] },
  { chain: 'CNI-HOSTPORT-MASQ', from: ['POSTROUTING'] },
];

/** Names of this instance's containers attached to a network. */
export function containersOn(host: HostReader, dirs: InstanceDirs, network: string): string[] {
  const names = [...new Set([...(host.readDir(containersDataDir(dirs)) ?? []), ...(host.readDir(dirs.stateDir) ?? [])])].filter(
    isContainerName,
  );
  return names.filter((n) => readNetworkRecord(host, dirs, n)?.network === network);
}

/** Removes a portmap chain when it holds no rule any more, with the jumps to it. */
function removeEmptyChain(net: NetAdmin, chain: string, from: string[]): boolean {
  const list = net.nat(['-S', chain]);
  if (!list.ok) return false;
  const rules = list.out.split('\n').filter((l) => l.startsWith('-A '));
  if (rules.length) return false;
  for (const parent of from) {
    const jumps = net
      .nat(['-S', parent])
      .out.split('\n')
      .filter((l) => l.startsWith(`-A ${parent} `) && l.includes(`-j ${chain}`));
    for (const j of jumps) net.nat(['-D', ...splitRule(j).slice(1)]);
  }
  return net.nat(['-X', chain]).ok;
}

/**
 * `pocker network rm NAME`: removes what the plugins keep by design once no container of this
 * instance uses the network: its bridge, portmap's shared chains when empty, and the IPAM dir
 * when it holds no allocation. The conflist stays (it is configuration).
 */
export function removeNetwork(host: Host, name: string, dirs: InstanceDirs, opts: NetworkOptions): string[] {
  const users = containersOn(host, dirs, name);
  if (users.length) throw new RuntimeError('NETWORK', `network "${name}" is in use by ${users.join(', ')}; remove those containers first`);
  const conf = loadNetwork(host, name, opts, false);
  const done: string[] = [];
  const b = bridgeOf(conf);
  if (b && host.lkind(join('/sys/class/net', b.bridge)) !== null) {
    const r = host.net.deleteLink(b.bridge);
    if (!r.ok) throw new RuntimeError('NETWORK', `ip link delete ${b.bridge}: ${r.out.trim()}`);
    done.push(`bridge ${b.bridge}`);
  }
  // The DNAT chain holds one jump per container with published ports; the other two only their
  // fixed rule, and are needed exactly while the DNAT chain is.
  const [dnat, ...rest] = PORTMAP_CHAINS;
  if (removeEmptyChain(host.net, dnat!.chain, dnat!.from)) done.push(`chain ${dnat!.chain}`);
  if (!host.net.nat(['-S', dnat!.chain]).ok) {
    for (const c of rest) {
      host.net.nat(['-F', c.chain]);
      if (removeEmptyChain(host.net, c.chain, c.from)) done.push(`chain ${c.chain}`);
    }
  }
  const ipamDir = hostLocalDir(conf);
  if (ipamDir && host.kind(ipamDir) === 'dir' && !reservations(host, ipamDir).length) {
    host.removeTree(ipamDir);
    done.push(`IPAM dir ${ipamDir}`);
  }
  return done;
}
