import { isContainerName } from './names.js';
import type { PathError } from './normalize.js';
import type { FirewallRule, UserFirewallRule } from './types.js';

/** The shape the JSON Schema guarantees for one ingress (`from`) or egress (`to`) rule. */
export interface RawFirewallRule {
  from?: string;
  to?: string;
  ports?: Array<number | string>;
  protocol?: 'tcp' | 'udp' | 'icmp';
}

/** An IPv4 address or CIDR in canonical form (host bits cleared, /32 for an address), or null. */
export function canonicalCidr(s: string): string | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\/(\d{1,2}))?$/.exec(s);
  if (!m) return null;
  const octets = m.slice(1, 5).map(Number);
  const len = m[5] === undefined ? 32 : Number(m[5]);
  if (octets.some((o) => o > 255) || len > 32) return null;
  const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
  const net = ip - (ip % 2 ** (32 - len));
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join('.')}/${len}`;
}

function parsePort(p: number | string): [number, number] | null {
  const m = typeof p === 'number' ? [String(p), String(p), String(p)] : /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(p);
  if (!m) return null;
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  return lo >= 1 && hi <= 65535 && lo <= hi ? [lo, hi] : null;
}

/** The rules of one direction in the user spec's canonical form, every problem located. */
export function normalizeRules(raw: RawFirewallRule[] | undefined, field: 'ingress' | 'egress', errors: PathError[]): UserFirewallRule[] {
  const key = field === 'ingress' ? 'from' : 'to';
  return (raw ?? []).map((r, i) => {
    const at = (k: string | number, ...more: Array<string | number>) => ['network', field, i, k, ...more];
    const peer = r[key]!;
    const cidr = canonicalCidr(peer);
    if (!cidr && !isContainerName(peer))
      errors.push({
        path: at(key),
        message: `network.${field}[${i}].${key}: "${peer}" is neither a container name nor an IPv4 address or CIDR`,
      });
    const ports: Array<number | string> = [];
    (r.ports ?? []).forEach((p, j) => {
      const range = parsePort(p);
      if (!range)
        errors.push({
          path: at('ports', j),
          message: `network.${field}[${i}].ports[${j}]: "${p}" is not a port (1-65535) or a range "lo-hi"`,
        });
      else ports.push(range[0] === range[1] ? range[0] : `${range[0]}-${range[1]}`);
    });
    if (r.protocol === 'icmp' && r.ports?.length) errors.push({ path: at('ports'), message: `network.${field}[${i}]: icmp has no ports` });
    return { peer: cidr ?? peer, ...(ports.length > 0 && { ports }), ...(r.protocol !== undefined && { protocol: r.protocol }) };
  });
}

/** The rules with every default filled in: ports as ranges; tcp where ports are given without a protocol. */
export function effectiveRules(rules: readonly UserFirewallRule[] | undefined): FirewallRule[] {
  return (rules ?? []).map((r) => {
    const ports = (r.ports ?? []).map((p) => parsePort(p)!);
    return {
      peer: canonicalCidr(r.peer) !== null ? { cidr: r.peer } : { name: r.peer },
      ports,
      protocol: r.protocol ?? (ports.length ? 'tcp' : null),
    };
  });
}
