/**
 * Per-container firewall rules (`network.ingress`/`egress`) as a NetworkPolicy named after the
 * container, selecting its Pod by the name label: each rule one ingress/egress entry, a container
 * name a `podSelector` of that name's label, a CIDR an `ipBlock`; ports as `port`/`endPort` of
 * the rule's protocol (left out where pocker leaves it out: TCP, Kubernetes' default as pocker's);
 * no ports and no protocol, every port and protocol. Like pocker's, a policy passes established
 * and related traffic; unlike pocker's egress it implies no DNS, so an entry allowing port 53 is
 * added (`pocker.io/dns-egress: added`, dropped again on import). icmp has no field: left out.
 */
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy';
import type { INetworkPolicyPeer } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPeer';
import type { INetworkPolicyPort } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicyPort';
import { effectiveRules } from '../spec/firewall.js';
import { ANNOTATION, DNS_EGRESS, NAME_LABEL, POCKER_DOMAIN } from '../spec/kube/annotations.js';
import type { DesiredContainer, UserFirewallRule } from '../spec/types.js';
import type { ContainerContext } from './context.js';

type Direction = 'ingress' | 'egress';

/** The ports of one rule as a NetworkPolicy's: none for every port and protocol. */
function policyPorts(r: UserFirewallRule): INetworkPolicyPort[] | undefined {
  const [eff] = effectiveRules([r]);
  const protocol = r.protocol === 'udp' ? 'UDP' : r.protocol === 'tcp' ? 'TCP' : undefined;
  if (!eff!.ports.length) return protocol ? [{ protocol }] : undefined;
  return eff!.ports.map(([lo, hi]) => ({ ...(protocol && { protocol }), port: lo, ...(hi !== lo && { endPort: hi }) }));
}

/** The peer of a rule: the Pods labelled with a container's name, or an address block. */
function policyPeer(r: UserFirewallRule): INetworkPolicyPeer {
  return 'cidr' in effectiveRules([r])[0]!.peer
    ? { ipBlock: { cidr: r.peer } }
    : { podSelector: { matchLabels: { [NAME_LABEL]: r.peer } } };
}

/** What on Kubernetes a peer name selects otherwise than on pocker: an init container or another container's hostname or alias has no Pod of its label. */
function peerWarning(name: string, all: readonly DesiredContainer[], initOwners: ReadonlyMap<string, string[]>): string | undefined {
  const owners = initOwners.get(name);
  if (owners) return `${name} is an init container of ${owners.join(', ')}'s Pod, which is labelled ${owners.join(', ')}`;
  if (all.some((d) => d.spec.name === name)) return undefined;
  const holder = all.find((d) => d.spec.hostname === name || d.spec.network.aliases.includes(name));
  return holder && `${name} is a name of ${holder.spec.name}, whose Pod is labelled ${holder.spec.name}`;
}

/** An init container's rules: it shares its Pod's network, and a NetworkPolicy selects Pods. */
export function initRulesLeftOut(ctx: ContainerContext, main: string): void {
  for (const dir of ['ingress', 'egress'] as const)
    if (ctx.d.user.network?.[dir]?.length)
      ctx.report.warn(
        ctx.d,
        `network.${dir}`,
        `an init container shares the network of ${main}'s Pod, and a NetworkPolicy selects whole Pods: its rules are left out`,
        'differs',
      );
}

/** The NetworkPolicy of the Pod's container, or null when it has no rule Kubernetes can say. */
export function exportNetworkPolicy(
  ctx: ContainerContext,
  all: readonly DesiredContainer[],
  initOwners: ReadonlyMap<string, string[]>,
): INetworkPolicy | null {
  const { d, report, opts } = ctx;
  const name = d.spec.name;
  const entries: Record<Direction, Array<Record<string, unknown>>> = { ingress: [], egress: [] };
  for (const dir of ['ingress', 'egress'] as const) {
    const key = dir === 'ingress' ? 'from' : 'to';
    (d.user.network?.[dir] ?? []).forEach((r, i) => {
      if (r.protocol === 'icmp') {
        report.warn(
          d,
          `network.${dir}[${i}]`,
          `${r.peer} icmp: a NetworkPolicy has no ICMP (it allows TCP, UDP and SCTP): the rule is left out${
            (d.user.network?.[dir] ?? []).every((x) => x.protocol === 'icmp')
              ? `, and with no other ${dir} rule the policy does not restrict ${dir} at all`
              : ''
          }`,
          'differs',
        );
        return;
      }
      const why = peerWarning(r.peer, all, initOwners);
      if (why)
        report.warn(
          d,
          `network.${dir}[${i}]`,
          `${why}: the NetworkPolicy's podSelector ${NAME_LABEL}: ${r.peer} selects no Pod of this export`,
        );
      const ports = policyPorts(r);
      entries[dir].push({ [key]: [policyPeer(r)], ...(ports && { ports }) });
    });
  }
  if (!entries.ingress.length && !entries.egress.length) return null;
  const annotations: Record<string, string> = { ...ctx.sourceAnnotation };
  if (entries.egress.length) {
    entries.egress.push({ ports: DNS_EGRESS.ports.map((p) => ({ ...p })) });
    annotations[`${POCKER_DOMAIN}/${ANNOTATION.dnsEgress}`] = 'added';
    report.warn(
      d,
      'network.egress',
      `a NetworkPolicy implies no DNS: an entry allows UDP and TCP port 53 to any destination (pocker: to the container's name servers only); pocker drops it on import (${POCKER_DOMAIN}/${ANNOTATION.dnsEgress})`,
    );
  }
  if (entries.ingress.length && d.user.network?.ports?.length && (opts.publish === 'hostport' || opts.serviceType === 'NodePort'))
    report.warn(
      d,
      'network.ingress',
      "a connection to a published port may reach the Pod from a node's address (SNAT, depending on the CNI and externalTrafficPolicy), not the outside client pocker's rule sees",
    );
  const policyTypes = (['ingress', 'egress'] as const)
    .filter((dir) => entries[dir].length)
    .map((dir) => (dir === 'ingress' ? 'Ingress' : 'Egress'));
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name, labels: ctx.labels(name), annotations },
    spec: {
      podSelector: { matchLabels: { [NAME_LABEL]: name } },
      policyTypes,
      ...(entries.ingress.length && { ingress: entries.ingress }),
      ...(entries.egress.length && { egress: entries.egress }),
    },
  };
}
