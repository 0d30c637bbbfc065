/** How many /etc files a bridge container gets bound (hostname, hosts, resolv.conf). */
export const NETWORK_ETC_FILES = 3;

/** The /etc files a bridge container gets, bind-mounted read-only: its name resolves to its address. */
export interface EtcFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

/** Resolvers on a loopback address mean nothing inside the container's own network namespace. */
function withoutLoopbackResolvers(hostResolvConf: string): string {
  const lines = hostResolvConf.split('\n').filter((l) => {
    const m = /^\s*nameserver\s+(\S+)/.exec(l);
    return !m || !(m[1]!.startsWith('127.') || m[1] === '::1');
  });
  return `${lines.join('\n').trimEnd()}\n`;
}

/** A container on a network, as another container's /etc/hosts lists it. */
export interface HostsEntry {
  container: string;
  address: string;
  names: string[];
}

/** The /etc/hosts of one container: loopback, its own names on its address, then the others of its network by container name. */
export function hostsFile(self: { address: string; names: readonly string[] }, peers: readonly HostsEntry[]): string {
  const lines = ['127.0.0.1\tlocalhost', '::1\tlocalhost ip6-localhost ip6-loopback', `${self.address}\t${self.names.join(' ')}`];
  for (const p of [...peers].sort((a, b) => (a.container < b.container ? -1 : 1))) lines.push(`${p.address}\t${p.names.join(' ')}`);
  return `${lines.join('\n')}\n`;
}

/**
 * hostname, hosts and resolv.conf for a container with this hostname, its other names (name,
 * aliases) and IPv4 address; its hosts file lists the peers already running on its network, so
 * a container started after its dependencies resolves them from its first instruction.
 */
export function etcFiles(
  hostname: string,
  address: string,
  hostResolvConf: string | null,
  names: readonly string[] = [],
  peers: readonly HostsEntry[] = [],
): EtcFiles {
  return {
    hostname: `${hostname}\n`,
    hosts: hostsFile({ address, names: [...new Set([hostname, ...names])] }, peers),
    resolvConf: withoutLoopbackResolvers(hostResolvConf ?? ''),
  };
}
