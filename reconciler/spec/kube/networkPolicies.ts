/**
 * NetworkPolicies of a spec file as firewall rules (`network.ingress`/`egress`) of the one
 * workload each selects, with Kubernetes' meaning: a direction in `policyTypes` (by default
 * Ingress, and Egress when there are egress entries) allows only what its entries allow; an entry
 * allows its peers (a Pod of the file by its `app.kubernetes.io/name` label, an `ipBlock`; none:
 * any address) on its ports (none: every port and protocol; a protocol without port: every port of
 * it; TCP when no protocol is given). Each peer and protocol of an entry is one pocker rule.
 * Several policies of one Pod add up, as on Kubernetes. What pocker cannot say is a problem at its
 * place: deny all (a direction without entries), namespaces, `except`, named ports, SCTP.
 */
import { stableJson } from '../hash.js';
import { isContainerName } from '../names.js';
import { canonicalCidr } from '../firewall.js';
import { ANNOTATION, DNS_EGRESS, NAME_LABEL, POCKER_DOMAIN } from './annotations.js';
import type { DraftRule } from './builder.js';
import type { Cursor } from './cursor.js';
import type { KubeObject } from './documents.js';
import type { ImportedPod } from './pod.js';
import {
  IP_BLOCK,
  LABEL_SELECTOR,
  NETWORK_POLICY_EGRESS,
  NETWORK_POLICY_INGRESS,
  NETWORK_POLICY_PEER,
  NETWORK_POLICY_PORT,
  NETWORK_POLICY_SPEC,
  NOT_SUPPORTED,
} from './rules.js';

type Direction = 'ingress' | 'egress';
type Protocol = 'tcp' | 'udp';

/** The peer of a NetworkPolicy entry as a pocker peer (a container name or a CIDR), or undefined (with a problem). */
function readPeer(p: Cursor): string | undefined {
  p.keys(NETWORK_POLICY_PEER, NOT_SUPPORTED);
  const pods = p.at('podSelector');
  const block = p.at('ipBlock');
  if (pods.present && block.present) {
    p.refuse('gives both podSelector and ipBlock: a peer is one of them (Kubernetes refuses it too)');
    return undefined;
  }
  if (block.present) {
    block.keys(IP_BLOCK, NOT_SUPPORTED);
    const cidrAt = block.at('cidr');
    const cidr = cidrAt.string();
    if (cidr === undefined) {
      if (!cidrAt.present) block.refuse('needs a cidr');
      return undefined;
    }
    if (canonicalCidr(cidr) === null) {
      cidrAt.fail(`${JSON.stringify(cidr)} is not an IPv4 address or CIDR (pocker's rules are IPv4)`);
      return undefined;
    }
    return cidr;
  }
  if (pods.present) {
    pods.keys(LABEL_SELECTOR, NOT_SUPPORTED);
    const labels = pods.at('matchLabels').stringMap();
    const keys = Object.keys(labels);
    if (keys.length !== 1 || keys[0] !== NAME_LABEL) {
      (keys.length ? pods.at('matchLabels') : pods).refuse(
        `must select one container by its ${NAME_LABEL} label only: a pocker rule names a container (or an address)`,
      );
      return undefined;
    }
    const name = labels[NAME_LABEL]!;
    if (!isContainerName(name)) {
      pods
        .at('matchLabels')
        .at(NAME_LABEL)
        .fail(`${JSON.stringify(name)} is not a container name (a DNS label)`);
      return undefined;
    }
    return name;
  }
  if (!p.at('namespaceSelector').present) p.refuse('needs a podSelector or an ipBlock');
  return undefined;
}

/** The ports of an entry by protocol as written (undefined: TCP, Kubernetes' default and pocker's); null (with problems) when pocker cannot say them. */
function readPorts(at: Cursor): Array<{ protocol?: Protocol; ports?: Array<number | string> }> | null {
  const groups = new Map<Protocol | undefined, { ports: Array<number | string>; all: boolean }>();
  let ok = true;
  for (const p of at.list()) {
    p.keys(NETWORK_POLICY_PORT, NOT_SUPPORTED);
    const protoAt = p.at('protocol');
    const proto = protoAt.string();
    if (proto !== undefined && proto !== 'TCP' && proto !== 'UDP') {
      protoAt.refuse(`${proto} is not supported: pocker's rules are tcp, udp or icmp`);
      ok = false;
      continue;
    }
    const protocol = proto === 'UDP' ? 'udp' : proto === 'TCP' ? 'tcp' : undefined;
    const group = groups.get(protocol) ?? { ports: [], all: false };
    groups.set(protocol, group);
    const portAt = p.at('port');
    const endAt = p.at('endPort');
    if (typeof portAt.value === 'string') {
      portAt.fail(`${JSON.stringify(portAt.value)} is a named port: pocker's rules give port numbers`);
      ok = false;
      continue;
    }
    const port = portAt.int();
    const end = endAt.int();
    if (port === undefined) {
      if (endAt.present) {
        endAt.refuse('needs a port (Kubernetes refuses it too)');
        ok = false;
      } else if (!portAt.present) group.all = true;
      else ok = false;
      continue;
    }
    if (end !== undefined && end < port) {
      endAt.refuse(`must be at least port (${port}) (Kubernetes refuses it too)`);
      ok = false;
      continue;
    }
    group.ports.push(end === undefined || end === port ? port : `${port}-${end}`);
  }
  if (!ok) return null;
  return [...groups].map(([protocol, g]) => (g.all ? { protocol: protocol ?? 'tcp' } : { ...(protocol && { protocol }), ports: g.ports }));
}

/** The rules of one entry: a rule per peer and protocol (no peers: any address). */
function readEntry(e: Cursor, dir: Direction): DraftRule[] {
  const key = dir === 'ingress' ? 'from' : 'to';
  e.keys(dir === 'ingress' ? NETWORK_POLICY_INGRESS : NETWORK_POLICY_EGRESS, NOT_SUPPORTED);
  const peersAt = e.at(key).list();
  const peers = peersAt.length
    ? peersAt.map((p) => ({ peer: readPeer(p), at: p }))
    : [{ peer: '0.0.0.0/0' as string | undefined, at: e.at(key).present ? e.at(key) : e }];
  const portsAt = e.at('ports');
  const groups = portsAt.list().length ? readPorts(portsAt) : [{}];
  if (!groups || peers.some((p) => p.peer === undefined)) return [];
  return peers.flatMap(({ peer, at }) =>
    groups.map((g) => ({
      rule: { [key]: peer!, ...g },
      from: e.place,
      peerFrom: at.place,
      ...(portsAt.present && { portsFrom: portsAt.place }),
    })),
  );
}

/** The entries of one direction without the DNS entry the export added; null (with a problem) when the annotation names none. */
function withoutAddedDns(policy: KubeObject, entries: Cursor[]): Cursor[] | null {
  const ann = policy.meta.pocker.get(`${POCKER_DOMAIN}/${ANNOTATION.dnsEgress}`);
  if (!ann) return entries;
  const v = ann.string();
  if (v === undefined) return null;
  if (v !== 'added') {
    ann.fail(`${JSON.stringify(v)}: the only value is "added" (pocker export kube added the egress entry allowing DNS)`);
    return null;
  }
  const dns = stableJson(DNS_EGRESS);
  const i = entries.findIndex((e) => stableJson(e.value) === dns);
  if (i < 0) {
    ann.refuse('says an egress entry allowing DNS was added, but no entry of spec.egress is it (ports UDP 53 and TCP 53, no to)');
    return null;
  }
  return entries.filter((_, k) => k !== i);
}

/** Adds the rules of the file's NetworkPolicies to the containers they select; each selects one workload of the file. */
export function applyNetworkPolicies(policies: readonly KubeObject[], pods: readonly ImportedPod[]): void {
  for (const policy of policies) {
    policy.root.keys({ apiVersion: true, kind: true, metadata: true, spec: true, status: true }, NOT_SUPPORTED);
    const spec = policy.root.at('spec');
    if (!spec.map()) {
      if (!spec.present) spec.refuse('is missing');
      continue;
    }
    spec.keys(NETWORK_POLICY_SPEC, NOT_SUPPORTED);
    const selectorAt = spec.at('podSelector');
    selectorAt.keys(LABEL_SELECTOR, NOT_SUPPORTED);
    const selector = selectorAt.at('matchLabels').stringMap();
    if (!Object.keys(selector).length) {
      (selectorAt.present ? selectorAt : spec).refuse(
        'must select the Pod whose traffic it filters (matchLabels of its labels): pocker applies rules to one container',
      );
      continue;
    }
    const matches = pods.filter((p) => Object.entries(selector).every(([k, v]) => p.workload.podLabels[k] === v));
    if (matches.length !== 1) {
      selectorAt.refuse(
        matches.length
          ? `selects several Pods of this file (${matches.map((m) => m.workload.name).join(', ')}): pocker's rules belong to one container`
          : 'selects no Pod of this file',
      );
      continue;
    }
    const pod = matches[0]!;
    const mode = pod.main.network.mode;
    if (mode !== 'bridge') {
      selectorAt.refuse(
        `selects ${pod.workload.name}, whose network mode is ${mode} (${mode === 'host' ? 'spec.hostNetwork: true' : `${POCKER_DOMAIN}/${ANNOTATION.network}`}): pocker's firewall rules need network.mode bridge`,
      );
      continue;
    }
    const typesAt = spec.at('policyTypes');
    const written = typesAt.strings();
    written?.forEach((t, i) => {
      if (t !== 'Ingress' && t !== 'Egress') typesAt.at(i).fail(`${t} is not a policy type (Ingress, Egress)`);
    });
    const lists = { ingress: spec.at('ingress').list(), egress: spec.at('egress').list() };
    const defaulted = !written?.length;
    const types = defaulted ? ['Ingress', ...(lists.egress.length ? ['Egress'] : [])] : written;
    for (const dir of ['ingress', 'egress'] as const) {
      const type = dir === 'ingress' ? 'Ingress' : 'Egress';
      const listAt = spec.at(dir);
      const entries = lists[dir];
      if (!types.includes(type)) {
        if (listAt.present) listAt.refuse(`is ignored by Kubernetes: policyTypes has no ${type}`);
        continue;
      }
      const kept = dir === 'egress' ? withoutAddedDns(policy, entries) : entries;
      if (!kept) continue;
      if (!kept.length) {
        const why = listAt.present ? '' : ` (policyTypes ${defaulted ? 'defaults to' : 'has'} ${type})`;
        (listAt.present ? listAt : !defaulted ? typesAt : spec).refuse(
          `gives no ${dir} entry${why}: Kubernetes denies every ${dir === 'ingress' ? 'inbound' : 'outbound'} connection of ${pod.workload.name}, and pocker cannot say deny all (no ${dir} rule allows everything): allow what it needs, or leave ${type} out of policyTypes`,
        );
        continue;
      }
      for (const e of kept) pod.main.network[dir].push(...readEntry(e, dir));
    }
  }
}
