/** An IPv4 network: address as a 32-bit number and prefix length. */
export interface Ipv4Net {
  addr: number;
  prefix: number;
}

/** Parses a dotted IPv4 address; null when it is not one. */
export function parseIpv4(s: string): number | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return null;
    n = n * 256 + Number(p);
  }
  return n;
}

/** Parses "a.b.c.d/n" (host bits must be zero); an error message when it is not a network. */
export function parseCidr(s: string): Ipv4Net | { error: string } {
  const m = /^([0-9.]+)\/([0-9]{1,2})$/.exec(s);
  const addr = m ? parseIpv4(m[1]!) : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (addr === null || !(prefix >= 8 && prefix <= 30))
    return { error: `${JSON.stringify(s)} is not an IPv4 subnet a.b.c.d/n with n from 8 to 30` };
  if (addr % 2 ** (32 - prefix) !== 0)
    return { error: `${s} has host bits set (did you mean ${formatIpv4(addr - (addr % 2 ** (32 - prefix)))}/${prefix}?)` };
  return { addr, prefix };
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Whether two networks share any address. */
export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const size = 2 ** (32 - p);
  return Math.floor(a.addr / size) === Math.floor(b.addr / size);
}

/** A route of the host's IPv4 table (/proc/net/route). */
export interface HostRoute {
  iface: string;
  net: Ipv4Net;
}

/** Parses /proc/net/route (little-endian hex destination and mask). */
export function parseProcRoutes(text: string): HostRoute[] {
  const le = (hex: string): number => {
    const v = parseInt(hex, 16);
    return (v & 0xff) * 2 ** 24 + (((v >>> 8) & 0xff) << 16) + (((v >>> 16) & 0xff) << 8) + ((v >>> 24) & 0xff);
  };
  const routes: HostRoute[] = [];
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 8) continue;
    const mask = le(f[7]!);
    let prefix = 0;
    for (let m = mask; m > 0 && prefix < 32; m = (m * 2) % 2 ** 32) prefix++;
    routes.push({ iface: f[0]!, net: { addr: le(f[1]!), prefix } });
  }
  return routes;
}

/** Host routes (other than the default route and those of `ownIface`) that overlap `net`. */
export function collidingRoutes(net: Ipv4Net, routes: HostRoute[], ownIface: string): HostRoute[] {
  return routes.filter((r) => r.net.prefix > 0 && r.iface !== ownIface && overlaps(r.net, net));
}
