/**
 * `ports` → `network.ports`. Short syntax as Docker parses it (`[IP:][HOST:]CONTAINER[/PROTO]`,
 * ranges of equal length expanded), long syntax `{target, published, host_ip, protocol}`.
 * pocker publishes fixed host ports on IPv4 over tcp or udp; the rest is reported.
 */
import type { ServiceContext } from './context.js';
import type { SpecPort } from './types.js';
import { describe, isMap, scalarString } from './values.js';

const IPV4 = /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;
/** Most published ports a spec holds (the schema's bound). */
export const MAX_PORTS = 64;

type Range = { start: number; end: number };

function parseRange(s: string): Range | null {
  const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(s.trim());
  if (!m) return null;
  const start = Number(m[1]);
  const end = m[2] === undefined ? start : Number(m[2]);
  return start >= 0 && end >= start && end <= 65535 ? { start, end } : null;
}

/** A port in the words of a message: `8080:80/udp`. */
const show = (p: SpecPort): string => `${p.hostIP ? `${p.hostIP}:` : ''}${p.host}:${p.container}/${p.protocol ?? 'tcp'}`;

interface PortIntent {
  field: string;
  text: string;
  hostIP: string;
  host: Range | null;
  container: Range;
  protocol: string;
}

function expand(ctx: ServiceContext, i: PortIntent): SpecPort[] {
  const { field, text } = i;
  if (i.protocol !== 'tcp' && i.protocol !== 'udp') {
    ctx.lose(field, `${text}: pocker publishes tcp and udp ports, not ${i.protocol}: left out`);
    return [];
  }
  let hostIP: string | undefined;
  if (i.hostIP !== '' && i.hostIP !== '0.0.0.0') {
    if (!IPV4.test(i.hostIP)) {
      ctx.lose(field, `${text}: pocker publishes on IPv4 addresses only, not ${i.hostIP}: left out`);
      return [];
    }
    hostIP = i.hostIP;
  }
  if (i.container.start === 0) {
    ctx.lose(field, `${text}: container port 0 is no port: left out`);
    return [];
  }
  const count = i.container.end - i.container.start + 1;
  if (i.host === null || i.host.start === 0) {
    ctx.lose(field, `${text}: no host port, so Docker would publish on a random one; pocker publishes fixed host ports only: left out`);
    return [];
  }
  const hostCount = i.host.end - i.host.start + 1;
  let host = i.host.start;
  if (hostCount !== count) {
    if (count !== 1) {
      ctx.lose(field, `${text}: the host range and the container range differ in length (Docker refuses it): left out`);
      return [];
    }
    ctx.lose(field, `${text}: Docker picks a free host port of ${i.host.start}-${i.host.end}; pocker publishes the first, ${host}`);
  }
  const out: SpecPort[] = [];
  for (let c = i.container.start; c <= i.container.end; c++, host++)
    out.push({ host, container: c, ...(i.protocol === 'udp' && { protocol: 'udp' }), ...(hostIP && { hostIP }) });
  return out;
}

/** Splits `[IP:][HOST:]CONTAINER[/PROTO]` as Docker's nat.ParsePortSpec does (an IPv6 address in brackets). */
function shortIntent(text: string, field: string): PortIntent | { error: string } {
  const [spec, proto = 'tcp', ...more] = text.split('/');
  if (more.length) return { error: `${text} has more than one "/"` };
  const parts = spec!.split(':');
  const container = parts.pop()!;
  const host = parts.length ? parts.pop()! : '';
  const ip = parts.join(':').replace(/^\[(.*)\]$/, '$1');
  const c = parseRange(container);
  if (!c) return { error: `${JSON.stringify(text)} is not a port mapping ([IP:][HOST:]CONTAINER[/PROTOCOL])` };
  const h = host === '' ? null : parseRange(host);
  if (host !== '' && !h) return { error: `${JSON.stringify(text)}: ${JSON.stringify(host)} is not a host port or range` };
  return { field, text, hostIP: ip, host: h, container: c, protocol: proto.toLowerCase() };
}

function longIntent(p: Record<string, unknown>, field: string): PortIntent | { error: string } {
  const target = scalarString(p.target);
  const c = target === null ? null : parseRange(target);
  if (!c) return { error: `target ${describe(p.target)} is not a container port` };
  const published = p.published === undefined || p.published === null ? '' : scalarString(p.published);
  const h = published === '' ? null : published === null ? null : parseRange(published);
  if (published !== '' && !h) return { error: `published ${describe(p.published)} is not a host port or range` };
  const hostIP = p.host_ip === undefined || p.host_ip === null ? '' : (scalarString(p.host_ip) ?? '');
  const protocol = (scalarString(p.protocol) ?? 'tcp').toLowerCase();
  const text = `${hostIP ? `${hostIP}:` : ''}${published || ''}${published ? ':' : ''}${target}/${protocol}`;
  return { field, text, hostIP, host: h, container: c, protocol };
}

/** The service's published ports (exact duplicates once; a host port taken twice by the service reported). */
export function convertPorts(ctx: ServiceContext): SpecPort[] {
  const raw = ctx.def.ports;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw ctx.invalid(['ports'], `ports is a list, not ${describe(raw)}`);
  const out: SpecPort[] = [];
  const byHost = new Map<string, SpecPort>();
  raw.forEach((e, i) => {
    const field = `ports[${i}]`;
    const text = scalarString(e);
    const intent =
      text !== null
        ? shortIntent(text, field)
        : isMap(e)
          ? longIntent(e, field)
          : { error: `a port is a string or a mapping, not ${describe(e)}` };
    if ('error' in intent) throw ctx.invalid(['ports', i], intent.error);
    for (const p of expand(ctx, intent)) {
      const key = `${p.protocol ?? 'tcp'}/${p.host}`;
      const prev = byHost.get(key);
      if (prev && show(prev) === show(p)) continue;
      if (prev) {
        ctx.lose(
          field,
          `${show(p)}: host port ${key} is already published as ${show(prev)} (pocker publishes a host port once, whatever the address): left out`,
        );
        continue;
      }
      if (out.length >= MAX_PORTS) {
        ctx.lose(field, `${show(p)}: a spec publishes at most ${MAX_PORTS} ports: left out`);
        continue;
      }
      byHost.set(key, p);
      out.push(p);
    }
  });
  return out;
}

/** The words of a port for messages of other files. */
export const describePort = show;
