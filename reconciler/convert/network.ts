/**
 * `network_mode`, `networks` and `ports` → `network`. Every service without `network_mode` is on
 * a bridge network, as in compose: the first of its `networks` (by `priority`, then as written),
 * else the project's `default` network, named as compose names it (`<project>_<net>`, or the
 * network's `name:`). The service's name (when the container is named otherwise) and its
 * `aliases` on that network become `network.aliases`.
 */
import { DEFAULT_NETWORK_NAME } from '../spec/types.js';
import type { ServiceContext } from './context.js';
import { isDnsLabel } from './names.js';
import type { Resource } from './project.js';
import { TOP_LEVEL } from './report.js';
import type { SpecNetwork, SpecPort } from './types.js';
import { describe, isMap, scalarString, type YamlMap } from './values.js';

const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
const ENTRY_KEYS_LOST: Record<string, string> = {
  ipv4_address: 'pocker networks assign addresses from their IPAM range',
  ipv6_address: 'pocker networks are IPv4',
  link_local_ips: 'not supported',
  mac_address: 'not supported',
  driver_opts: 'not supported',
  interface_name: 'the interface is always eth0',
};

/** What compose's definition of a network asks that a CNI conflist of pocker does not give; reported once per network. */
function checkDefinition(ctx: ServiceContext, net: Resource): void {
  const at = `networks.${net.key}`;
  const d = net.def;
  const driver = scalarString(d.driver);
  if (driver && driver !== 'bridge')
    ctx.report.lose(
      TOP_LEVEL,
      `${at}.driver`,
      `driver ${driver} is not supported: the network is a CNI network (a bridge in pocker's own)`,
    );
  if (d.internal === true)
    ctx.report.lose(TOP_LEVEL, `${at}.internal`, 'whether the network reaches the outside is up to its CNI conflist');
  if (d.enable_ipv6 === true) ctx.report.lose(TOP_LEVEL, `${at}.enable_ipv6`, 'pocker networks are IPv4');
  for (const k of ['ipam', 'driver_opts', 'labels'])
    if (d[k] !== undefined && d[k] !== null)
      ctx.report.lose(TOP_LEVEL, `${at}.${k}`, 'not carried over: the CNI conflist of the network decides');
  if (net.name !== DEFAULT_NETWORK_NAME)
    ctx.report.note(
      TOP_LEVEL,
      at,
      `the specs use CNI network "${net.name}": pocker writes only its default network ("${DEFAULT_NETWORK_NAME}"), so put a *.conflist whose "name" is ${net.name} in the CNI config dir (a copy of ${DEFAULT_NETWORK_NAME}.conflist with another name, bridge and subnet will do)`,
    );
}

/** The service's networks as [key, entry] pairs, highest priority first (compose's order), checked against the top-level ones. */
function serviceNetworks(ctx: ServiceContext): Array<[string, YamlMap]> {
  const raw = ctx.def.networks;
  let list: Array<[string, YamlMap]>;
  if (raw === undefined || raw === null) list = [['default', {}]];
  else if (Array.isArray(raw)) {
    list = raw.map((n, i) => {
      const s = scalarString(n);
      if (s === null) throw ctx.invalid(['networks', i], `a network is named by a string, not ${describe(n)}`);
      return [s, {}];
    });
  } else if (isMap(raw)) {
    list = Object.entries(raw).map(([k, v]) => {
      if (v !== null && !isMap(v)) throw ctx.invalid(['networks', k], `the entry of network ${k} is a mapping, not ${describe(v)}`);
      return [k, v ?? {}];
    });
  } else throw ctx.invalid(['networks'], `networks is a list or a mapping, not ${describe(raw)}`);
  for (const [k] of list)
    if (!ctx.project.networks.has(k))
      throw ctx.invalid(['networks', k], `network ${JSON.stringify(k)} is not defined under the top-level "networks"`);
  const priority = (e: YamlMap): number => (typeof e.priority === 'number' ? e.priority : 0);
  return list
    .map((e, i) => ({ e, i }))
    .sort((a, b) => priority(b.e[1]) - priority(a.e[1]) || a.i - b.i)
    .map(({ e }) => e);
}

function aliasesOf(ctx: ServiceContext, key: string, entry: YamlMap): string[] {
  const raw = entry.aliases;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw ctx.invalid(['networks', key, 'aliases'], `aliases is a list, not ${describe(raw)}`);
  return raw.flatMap((a) => {
    const s = scalarString(a)?.toLowerCase();
    if (s && isDnsLabel(s)) return [s];
    ctx.lose(
      `networks.${key}.aliases`,
      `${describe(a)} is not a DNS label (lowercase letters, digits, "-"), which pocker's aliases are: left out`,
    );
    return [];
  });
}

function modeOnly(ctx: ServiceContext, mode: 'host' | 'none', ports: SpecPort[]): SpecNetwork {
  if (ports.length) ctx.lose('ports', `published ports mean nothing with network_mode ${mode} (Docker ignores them too): left out`);
  if (ctx.def.networks !== undefined) throw ctx.invalid(['network_mode'], 'network_mode and networks cannot be used together');
  return { mode };
}

/** The spec's network section of a service whose container is called `name`. */
export function convertNetwork(ctx: ServiceContext, name: string, ports: SpecPort[]): SpecNetwork {
  const mode = ctx.def.network_mode;
  if (mode !== undefined && mode !== null) {
    const m = scalarString(mode);
    if (m === 'host' || m === 'none') return modeOnly(ctx, m, ports);
    if (m === 'bridge') return { mode: 'bridge', ...(ports.length && { ports }) };
    if (m?.startsWith('service:') || m?.startsWith('container:'))
      ctx.lose(
        'network_mode',
        `${m}: pocker containers do not share another's network namespace; the container is on the project's default network instead`,
      );
    else if (m && NETWORK_NAME.test(m)) {
      ctx.note('network_mode', `the specs use CNI network "${m}": put a *.conflist whose "name" is ${m} in the CNI config dir`);
      return { mode: 'bridge', name: m, ...(ports.length && { ports }) };
    } else
      ctx.lose(
        'network_mode',
        `${describe(mode)} is not a network mode pocker knows: the container is on the project's default network instead`,
      );
  }
  const nets = mode !== undefined && mode !== null ? ([['default', {}]] as Array<[string, YamlMap]>) : serviceNetworks(ctx);
  const [[key, entry], ...rest] = nets as [[string, YamlMap], ...Array<[string, YamlMap]>];
  const net = ctx.project.networks.get(key)!;
  for (const [other] of rest)
    ctx.lose(
      `networks.${other}`,
      `pocker attaches a container to one network: it is on ${net.name} (${key}) only, not on ${ctx.project.networks.get(other)!.name}`,
    );
  for (const [k, why] of Object.entries(ENTRY_KEYS_LOST))
    if (entry[k] !== undefined && entry[k] !== null) ctx.lose(`networks.${key}.${k}`, why);
  const aliases = aliasesOf(ctx, key, entry);
  if (ctx.service !== name) {
    if (isDnsLabel(ctx.service)) aliases.unshift(ctx.service);
    else
      ctx.note(
        '(service name)',
        `the other containers reach it as "${name}" (a DNS label), not as "${ctx.service}": change what refers to ${ctx.service}`,
      );
  }
  checkDefinition(ctx, net);
  let netName: string | undefined = net.name;
  if (!NETWORK_NAME.test(net.name)) {
    ctx.report.lose(
      TOP_LEVEL,
      `networks.${key}`,
      `network name ${JSON.stringify(net.name)} is not a CNI network name (letters, digits, "_", ".", "-"; at most 63): pocker's default network is used`,
    );
    netName = undefined;
  }
  const uniq = [...new Set(aliases)].filter((a) => a !== name);
  return {
    mode: 'bridge',
    ...(netName && { name: netName }),
    ...(ports.length && { ports }),
    ...(uniq.length && { aliases: uniq.slice(0, 32) }),
  };
}
