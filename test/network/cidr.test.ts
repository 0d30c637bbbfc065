import { describe, expect, it } from 'vitest';
import { collidingRoutes, formatIpv4, overlaps, parseCidr, parseProcRoutes } from '../../reconciler/network/cidr.js';

const net = (s: string) => {
  const n = parseCidr(s);
  if ('error' in n) throw new Error(n.error);
  return n;
};

describe('subnets', () => {
  it('parses networks and refuses bad ones with the reason', () => {
    expect(formatIpv4(net('10.89.0.0/24').addr)).toBe('10.89.0.0');
    expect(parseCidr('10.1.2.300/24')).toEqual({ error: expect.stringMatching(/not an IPv4 subnet/) });
    expect(parseCidr('10.1.2.0/31')).toEqual({ error: expect.stringMatching(/n from 8 to 30/) });
    expect(parseCidr('10.1.2.5/24')).toEqual({ error: expect.stringMatching(/host bits set \(did you mean 10\.1\.2\.0\/24\?\)/) });
  });

  it('finds host routes that overlap, ignoring the default route and the bridge itself', () => {
    expect(overlaps(net('10.0.0.0/8'), net('10.89.0.0/24'))).toBe(true);
    expect(overlaps(net('10.88.0.0/24'), net('10.89.0.0/24'))).toBe(false);
    const routes = parseProcRoutes(
      'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' +
        'eth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
        'eth0\t0000000A\t00000000\t0001\t0\t0\t0\t000000FF\t0\t0\t0\n' +
        'pocker0\t0059A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n',
    );
    expect(routes.map((r) => `${r.iface} ${formatIpv4(r.net.addr)}/${r.net.prefix}`)).toEqual([
      'eth0 0.0.0.0/0',
      'eth0 10.0.0.0/8',
      'pocker0 192.168.89.0/24',
    ]);
    expect(collidingRoutes(net('10.89.0.0/24'), routes, 'pocker0').map((r) => r.iface)).toEqual(['eth0']);
    expect(collidingRoutes(net('192.168.89.0/24'), routes, 'pocker0')).toEqual([]);
  });
});
