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

/** hostname, hosts and resolv.conf for a container with this hostname and IPv4 address. */
export function etcFiles(hostname: string, address: string, hostResolvConf: string | null): EtcFiles {
  return {
    hostname: `${hostname}\n`,
    hosts: `127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n${address}\t${hostname}\n`,
    resolvConf: withoutLoopbackResolvers(hostResolvConf ?? ''),
  };
}
