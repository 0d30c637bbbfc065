import { builtins } from '../builtins.js';
import { stableJson } from '../spec/hash.js';
import type { FirewallRule, NetworkSpec } from '../spec/types.js';

/** The nftables table pocker keeps inside each container's network namespace (family inet). */
export const FIREWALL_TABLE = 'pocker';

/** Addresses a container name stands for now (its running container's addresses on the bridge networks). */
export type NameResolver = (name: string) => string[];

function peerSet(r: FirewallRule, resolve: NameResolver): string[] {
  if ('cidr' in r.peer) return [r.peer.cidr];
  return [...new Set(resolve(r.peer.name))].sort().map((a) => `${a}/32`);
}

function ruleLine(r: FirewallRule, dir: 'saddr' | 'daddr', resolve: NameResolver): string {
  const peers = peerSet(r, resolve);
  const label = 'name' in r.peer ? r.peer.name : r.peer.cidr;
  if (!peers.length) return `    # ${label}: no running container of that name`;
  const match = [`ip ${dir} { ${peers.join(', ')} }`];
  if (r.protocol === 'icmp') match.push('ip protocol icmp');
  else if (r.protocol && r.ports.length)
    match.push(`${r.protocol} dport { ${r.ports.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(', ')} }`);
  else if (r.protocol) match.push(`meta l4proto ${r.protocol}`);
  return `    ${match.join(' ')} accept comment "${label}"`;
}

/**
 * The nft script that makes the container's table what its rules say, as one atomic transaction
 * (the table is created empty, deleted and defined anew, so no packet ever sees half of it); with
 * no rules, it only deletes the table. Ingress: a chain on input with policy drop, passing
 * established/related traffic, loopback and the rules' sources. Egress likewise on output, also
 * passing DNS to the container's name servers.
 */
export function firewallScript(
  net: Pick<NetworkSpec, 'ingress' | 'egress'>,
  resolve: NameResolver,
  nameservers: readonly string[],
): string {
  const reset = `table inet ${FIREWALL_TABLE} {}\ndelete table inet ${FIREWALL_TABLE}\n`;
  if (!net.ingress.length && !net.egress.length) return reset;
  const chain = (name: string, hook: 'input' | 'output', lines: string[]) =>
    `  chain ${name} {\n    type filter hook ${hook} priority filter; policy drop;\n${lines.join('\n')}\n  }\n`;
  let body = '';
  if (net.ingress.length)
    body += chain('ingress', 'input', [
      '    ct state established,related accept',
      '    iif "lo" accept',
      ...net.ingress.map((r) => ruleLine(r, 'saddr', resolve)),
    ]);
  if (net.egress.length) {
    const dns = [...new Set(nameservers)].sort();
    body += chain('egress', 'output', [
      '    ct state established,related accept',
      '    oif "lo" accept',
      ...(dns.length ? [`    ip daddr { ${dns.join(', ')} } meta l4proto { tcp, udp } th dport 53 accept comment "name servers"`] : []),
      ...net.egress.map((r) => ruleLine(r, 'daddr', resolve)),
    ]);
  }
  return `${reset}table inet ${FIREWALL_TABLE} {\n${body}}\n`;
}

/** Whether a spec has any firewall rule. */
export function hasFirewall(net: Pick<NetworkSpec, 'ingress' | 'egress'>): boolean {
  return net.ingress.length > 0 || net.egress.length > 0;
}

/** The hash a script is recorded and compared by. */
export function scriptHash(script: string): string {
  return builtins.crypto().createHash('sha256').update(script).digest('hex').slice(0, 16);
}

/**
 * A fingerprint of a table as `nft -j list table` prints it: the objects without their handles and
 * nft's metainfo, so the same rules always give the same fingerprint and any edit gives another.
 */
export function tableFingerprint(json: string): string {
  const strip = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(strip);
    if (v && typeof v === 'object')
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .filter(([k]) => k !== 'handle' && k !== 'metainfo')
          .map(([k, x]) => [k, strip(x)]),
      );
    return v;
  };
  const doc = JSON.parse(json) as { nftables?: unknown[] };
  const objects = (doc.nftables ?? []).filter((o) => !(o && typeof o === 'object' && 'metainfo' in o));
  return builtins
    .crypto()
    .createHash('sha256')
    .update(stableJson(strip(objects)))
    .digest('hex')
    .slice(0, 16);
}

/** The rule lines that differ between two scripts, as a plan shows them (`+line`, `-line`). */
export function scriptDiff(before: string, after: string): string[] {
  const lines = (s: string) =>
    s
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l.startsWith('ip ') || l.startsWith('# ') || l.startsWith('chain '));
  const a = lines(before);
  const b = lines(after);
  return [...a.filter((l) => !b.includes(l)).map((l) => `-${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `+${l}`)];
}
