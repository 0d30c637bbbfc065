import { isIP } from 'node:net';

/** Where the metrics listener binds: a TCP host and port, or a unix socket path. */
export type MetricsAddress = { kind: 'tcp'; host: string; port: number; loopback: boolean } | { kind: 'unix'; path: string };

/**
 * Parses `--metrics-addr`: `127.0.0.1:9464`, `[::1]:9464`, `localhost:9464`, `:9464` (every
 * address), or an absolute unix socket path. Loopback: 127.0.0.0/8, ::1, localhost.
 */
export function parseMetricsAddress(text: string): MetricsAddress | { error: string } {
  if (text.startsWith('/')) return { kind: 'unix', path: text };
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):([0-9]{1,5})$/.exec(text);
  if (!m) return { error: `"${text}" is not HOST:PORT, [IPV6]:PORT or an absolute unix socket path` };
  const host = m[1] ?? m[2] ?? '';
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return { error: `port ${m[3]} is out of range (1-65535)` };
  if (m[1] !== undefined && isIP(host) !== 6) return { error: `"${host}" is not an IPv6 address` };
  if (host !== '' && host !== 'localhost' && isIP(host) === 0) return { error: `"${host}" is not an IP address (or localhost)` };
  const loopback = host === 'localhost' || host === '::1' || (isIP(host) === 4 && host.startsWith('127.'));
  return { kind: 'tcp', host: host === '' ? '::' : host, port, loopback };
}

/** The address for messages: host:port or the socket path. */
export function formatMetricsAddress(a: MetricsAddress): string {
  return a.kind === 'unix' ? a.path : `${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}
