import { describe, expect, it } from 'vitest';
import { parseMetricsAddress } from '../../reconciler/controller/metricsAddress.js';

describe('--metrics-addr', () => {
  it('tells loopback addresses from those other hosts reach', () => {
    expect(parseMetricsAddress('127.0.0.1:9464')).toEqual({ kind: 'tcp', host: '127.0.0.1', port: 9464, loopback: true });
    expect(parseMetricsAddress('[::1]:9464')).toMatchObject({ host: '::1', loopback: true });
    expect(parseMetricsAddress('localhost:1')).toMatchObject({ loopback: true });
    expect(parseMetricsAddress('0.0.0.0:9464')).toMatchObject({ loopback: false });
    expect(parseMetricsAddress(':9464')).toMatchObject({ host: '::', loopback: false });
    expect(parseMetricsAddress('10.0.0.1:80')).toMatchObject({ loopback: false });
    expect(parseMetricsAddress('/run/pocker/metrics.sock')).toEqual({ kind: 'unix', path: '/run/pocker/metrics.sock' });
  });

  it('refuses what is not an address', () => {
    expect(parseMetricsAddress('9464')).toEqual({ error: expect.stringMatching(/not HOST:PORT/) });
    expect(parseMetricsAddress('127.0.0.1:70000')).toEqual({ error: expect.stringMatching(/out of range/) });
    expect(parseMetricsAddress('example.com:80')).toEqual({ error: expect.stringMatching(/not an IP address/) });
    expect(parseMetricsAddress('[1.2.3.4]:80')).toEqual({ error: expect.stringMatching(/not an IPv6/) });
  });
});
