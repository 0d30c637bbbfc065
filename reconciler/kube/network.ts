/**
 * Published ports: with `--publish service` a Service named after the container (its peers on
 * pocker reach it by that name at its container ports, and so do other Pods through the Service;
 * NodePort publishes on the nodes), with `--publish hostport` the Pod's hostPorts (what pocker does:
 * CNI's portmap on the node). The Service keeps pocker's exact ports in `pocker.io/ports`.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IContainerPort } from 'kubernetes-models/v1/ContainerPort';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IServicePort } from 'kubernetes-models/v1/ServicePort';
import { ANNOTATION, NAME_LABEL } from '../spec/kube/annotations.js';
import type { ContainerContext } from './context.js';
import { serviceName } from './names.js';

/** The range of node ports a cluster hands out by default. */
const NODE_PORTS = { min: 30000, max: 32767 };

const upper = (p: 'tcp' | 'udp'): 'TCP' | 'UDP' => (p === 'udp' ? 'UDP' : 'TCP');

/** Writes the container's published ports; returns its Service (with `--publish service`). */
export function exportPorts(ctx: ContainerContext, c: IContainer): IService | null {
  const { d, report, opts } = ctx;
  const ports = d.user.network?.ports ?? [];
  if (!ports.length) return null;
  if (opts.publish === 'hostport') {
    c.ports = ports.map((p) => ({
      containerPort: p.container,
      hostPort: p.host,
      ...(p.protocol && { protocol: upper(p.protocol) }),
      ...(p.hostIP !== undefined && { hostIP: p.hostIP }),
    }));
    return null;
  }
  const name = serviceName(d.spec.name);
  const containerPorts: IContainerPort[] = [];
  const servicePorts: IServicePort[] = [];
  const hosts = new Map<string, number[]>();
  ports.forEach((p, i) => {
    const proto = p.protocol ?? 'tcp';
    const key = `${proto}-${p.container}`;
    if (p.hostIP !== undefined)
      report.warn(
        d,
        `network.ports[${i}].hostIP`,
        `${p.hostIP}: a Service listens on the cluster's addresses (--publish hostport keeps the address): pocker reads it back from pocker.io/ports`,
      );
    const seen = hosts.get(key);
    if (seen) {
      seen.push(p.host);
      return;
    }
    hosts.set(key, [p.host]);
    containerPorts.push({ containerPort: p.container, ...(p.protocol && { protocol: upper(p.protocol) }) });
    const sp: IServicePort = { name: key, port: p.container, targetPort: p.container, ...(p.protocol && { protocol: upper(p.protocol) }) };
    if (opts.serviceType === 'NodePort') {
      if (p.host >= NODE_PORTS.min && p.host <= NODE_PORTS.max) sp.nodePort = p.host;
      else
        report.warn(
          d,
          `network.ports[${i}]`,
          `host port ${p.host} is outside the cluster's node ports (${NODE_PORTS.min}-${NODE_PORTS.max}): the cluster picks the node port of Service ${name}; pocker reads the host port back from pocker.io/ports`,
        );
    }
    servicePorts.push(sp);
  });
  for (const [key, list] of hosts)
    if (list.length > 1)
      report.warn(
        d,
        'network.ports',
        `${key} is published on host ports ${list.join(', ')}: Service ${name} has one port for it${opts.serviceType === 'NodePort' ? ' (one node port)' : ''}; pocker reads them all back from pocker.io/ports`,
      );
  if (opts.serviceType === 'ClusterIP')
    report.warn(
      d,
      'network.ports',
      `Service ${name} gives other Pods its ports ${servicePorts.map((p) => p.port).join(', ')} inside the cluster only, where pocker publishes them on the host (${ports.map((p) => p.host).join(', ')}): --service-type NodePort or --publish hostport publish them on the nodes; pocker reads them back from pocker.io/ports`,
    );
  if (name !== d.spec.name) report.warn(d, 'name', `a Service's name starts with a letter: other Pods reach ${d.spec.name} as ${name}`);
  c.ports = containerPorts;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name,
      labels: ctx.labels(d.spec.name),
      annotations: { ...ctx.sourceAnnotation, [`pocker.io/${ANNOTATION.ports}`]: JSON.stringify(ports) },
    },
    spec: { type: opts.serviceType, selector: { [NAME_LABEL]: d.spec.name }, ports: servicePorts },
  };
}
