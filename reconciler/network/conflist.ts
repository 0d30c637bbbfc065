import { join } from 'node:path';
import { RuntimeError } from '../host/errors.js';
import type { Host, HostReader } from '../host/host.js';
import { DEFAULT_NETWORK_NAME } from '../spec/types.js';
import { parseCidr } from './cidr.js';

/** One plugin entry of a CNI network configuration list. */
export interface CniPluginConf {
  type: string;
  capabilities?: Record<string, boolean>;
  [key: string]: unknown;
}

/** A CNI network configuration list (`*.conflist`), as the CNI spec defines it. */
export interface CniConflist {
  cniVersion: string;
  name: string;
  plugins: CniPluginConf[];
  [key: string]: unknown;
}

/** Where pocker finds CNI configuration and plugins, and what its default network looks like. */
export interface NetworkOptions {
  /** CNI config dir (default /etc/cni/net.d). */
  confDir: string;
  /** CNI plugin dir (default /usr/lib/cni, Debian's containernetworking-plugins). */
  binDir: string;
  /** Subnet of the default network when pocker writes its conflist (default 10.89.0.0/24). */
  subnet: string;
  /** Bridge of the default network (default pocker0). */
  bridge: string;
}

export const DEFAULT_NETWORK_OPTIONS: NetworkOptions = {
  confDir: '/etc/cni/net.d',
  binDir: '/usr/lib/cni',
  subnet: '10.89.0.0/24',
  bridge: 'pocker0',
};

/** The conflist pocker writes for its default network: a bridge with NAT to the outside, host-local IPAM, published ports. */
export function defaultConflist(name: string, bridge: string, subnet: string): CniConflist {
  return {
    cniVersion: '1.0.0',
    name,
    plugins: [
      {
        type: 'bridge',
        bridge,
        isGateway: true,
        ipMasq: true,
        hairpinMode: true,
        ipam: { type: 'host-local', ranges: [[{ subnet }]], routes: [{ dst: '0.0.0.0/0' }] },
      },
      { type: 'portmap', capabilities: { portMappings: true }, snat: true },
    ],
  };
}

function readConflist(host: HostReader, path: string): CniConflist | null {
  try {
    const c = JSON.parse(host.readFile(path) ?? 'null') as CniConflist;
    return c && typeof c.name === 'string' && Array.isArray(c.plugins) ? c : null;
  } catch {
    return null;
  }
}

/**
 * The configuration list of network `name` from the CNI config dir (the first `*.conflist` in
 * name order that declares it). For the default network, pocker writes its conflist when there is
 * none (unless writeDefault is false).
 */
export function loadNetwork(host: Host, name: string, opts: NetworkOptions, writeDefault = true): CniConflist {
  const files = (host.readDir(opts.confDir) ?? []).filter((f) => f.endsWith('.conflist')).sort();
  for (const f of files) {
    const c = readConflist(host, join(opts.confDir, f));
    if (c?.name === name) return c;
  }
  if (name !== DEFAULT_NETWORK_NAME || !writeDefault)
    throw new RuntimeError('NETWORK', `no CNI network "${name}" in ${opts.confDir} (a *.conflist whose "name" is ${name})`, {
      path: opts.confDir,
    });
  const net = parseCidr(opts.subnet);
  if ('error' in net) throw new RuntimeError('NETWORK', `default network subnet: ${net.error}`, { path: opts.confDir });
  const conf = defaultConflist(name, opts.bridge, opts.subnet);
  host.mkdir(opts.confDir, 0o755);
  host.writeFileAtomic(join(opts.confDir, `${name}.conflist`), `${JSON.stringify(conf, null, 2)}\n`, 0o644);
  return conf;
}

/** host-local's reservation dir of this network, or null when its bridge plugin does not use host-local. */
export function hostLocalDir(conf: CniConflist): string | null {
  const ipam = conf.plugins.find((p) => p.type === 'bridge')?.['ipam'] as { type?: string; dataDir?: string } | undefined;
  return ipam?.type === 'host-local' ? join(ipam.dataDir ?? '/var/lib/cni/networks', conf.name) : null;
}

/** The reserved addresses (one file each) in a host-local dir; none when it does not exist. */
export function reservations(host: HostReader, dir: string): string[] {
  return (host.readDir(dir) ?? []).filter((f) => /^[0-9.]+$/.test(f) || f.includes(':'));
}

/** The bridge and the subnets of a conflist's bridge plugin with host-local IPAM (for the route check), if it has one. */
export function bridgeOf(conf: CniConflist): { bridge: string; subnets: string[] } | null {
  const b = conf.plugins.find((p) => p.type === 'bridge');
  if (!b) return null;
  const ipam = b['ipam'] as { ranges?: Array<Array<{ subnet?: string }>>; subnet?: string } | undefined;
  const subnets = [...(ipam?.ranges ?? []).flat().map((r) => r.subnet), ipam?.subnet].filter((s): s is string => typeof s === 'string');
  return { bridge: typeof b['bridge'] === 'string' ? (b['bridge'] as string) : 'cni0', subnets };
}
