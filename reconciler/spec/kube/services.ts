/**
 * Services of a spec file as published ports of the one workload each selects: a port is
 * published on the host at its nodePort (NodePort) or its port, to the targetPort of the
 * container. A Service `pocker export kube` wrote carries the container's ports exactly
 * (`pocker.io/ports`: host ports and addresses a Service has no field for).
 */
import { ANNOTATION, POCKER_DOMAIN } from './annotations.js';
import type { DraftPort } from './builder.js';
import type { Cursor } from './cursor.js';
import type { KubeObject } from './documents.js';
import type { ImportedPod } from './pod.js';
import { NOT_SUPPORTED, SERVICE_PORT, SERVICE_SPEC } from './rules.js';

type Protocol = 'tcp' | 'udp';

/** The exact ports of the annotation: a JSON array of pocker ports, or null (with a problem). */
function exactPorts(at: Cursor): Array<Record<string, unknown>> | null {
  const text = at.string();
  if (text === undefined) return null;
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    at.refuse(`is not JSON: ${(e as Error).message}`);
    return null;
  }
  if (!Array.isArray(v) || !v.every((p) => p !== null && typeof p === 'object' && !Array.isArray(p))) {
    at.refuse('must be a JSON array of ports ({host, container, protocol, hostIP})');
    return null;
  }
  return v as Array<Record<string, unknown>>;
}

/** The ports of one Service for the pod it selects, or null (with problems). */
function servicePorts(svc: KubeObject, pod: ImportedPod): DraftPort[] | null {
  const spec = svc.root.at('spec');
  const type = spec.at('type').string() ?? 'ClusterIP';
  if (type !== 'ClusterIP' && type !== 'NodePort')
    spec.at('type').fail(`${type} is not supported: pocker publishes a Service's ports on its host (ClusterIP or NodePort)`);
  const seen: Array<{ container: number; protocol: Protocol }> = [];
  const out: DraftPort[] = [];
  for (const p of spec.at('ports').list()) {
    p.keys(SERVICE_PORT, NOT_SUPPORTED);
    const port = p.at('port').int();
    if (port === undefined) {
      if (!p.at('port').present) p.refuse('needs a port');
      continue;
    }
    const protoAt = p.at('protocol');
    const proto = protoAt.string();
    if (proto !== undefined && proto !== 'TCP' && proto !== 'UDP')
      protoAt.refuse(`${proto} is not supported: pocker publishes TCP and UDP`);
    const target = p.at('targetPort');
    let container = port;
    if (typeof target.value === 'string' && !/^[0-9]+$/.test(target.value)) {
      const n = pod.portNames.get(target.value);
      if (n === undefined) target.fail(`${JSON.stringify(target.value)} names no port of ${pod.workload.name}`);
      else container = n;
    } else if (typeof target.value === 'string') container = Number(target.value);
    else if (target.present) container = target.int() ?? port;
    const nodePort = p.at('nodePort').int();
    if (nodePort !== undefined && type !== 'NodePort') p.at('nodePort').refuse('is for type NodePort only');
    const protocol = proto === 'UDP' ? 'udp' : proto === 'TCP' ? 'tcp' : undefined;
    seen.push({ container, protocol: protocol ?? 'tcp' });
    out.push({ port: { host: nodePort ?? port, container, ...(protocol && { protocol }) }, from: p.place });
  }
  const exactAt = svc.meta.pocker.get(`${POCKER_DOMAIN}/${ANNOTATION.ports}`);
  if (!exactAt) return out;
  const exact = exactPorts(exactAt);
  if (!exact) return null;
  const key = (c: unknown, p: unknown): string => `${String(c)}/${p === undefined ? 'tcp' : String(p)}`;
  const fromExact = new Set(exact.map((p) => key(p.container, p.protocol)));
  const fromService = new Set(seen.map((s) => key(s.container, s.protocol)));
  if (fromExact.size !== fromService.size || [...fromExact].some((k) => !fromService.has(k))) {
    exactAt.refuse(
      `publishes ${[...fromExact].join(', ') || 'nothing'}, the Service's ports target ${[...fromService].join(', ') || 'nothing'}: remove the annotation or make them agree`,
    );
    return null;
  }
  return exact.map((port) => ({ port: port as DraftPort['port'], from: exactAt.place }));
}

/** Adds the ports of the file's Services to the containers they select; each Service selects one workload of the file. */
export function applyServices(services: readonly KubeObject[], pods: readonly ImportedPod[]): void {
  for (const svc of services) {
    svc.root.keys({ apiVersion: true, kind: true, metadata: true, spec: true, status: true }, NOT_SUPPORTED);
    const spec = svc.root.at('spec');
    spec.keys(SERVICE_SPEC, NOT_SUPPORTED);
    const selectorAt = spec.at('selector');
    const selector = selectorAt.stringMap();
    if (!Object.keys(selector).length) {
      (selectorAt.present ? selectorAt : spec).refuse('must select the Pod whose ports it publishes (a selector of its labels)');
      continue;
    }
    const matches = pods.filter((p) => Object.entries(selector).every(([k, v]) => p.workload.podLabels[k] === v));
    if (matches.length !== 1) {
      selectorAt.refuse(
        matches.length
          ? `selects several Pods of this file (${matches.map((m) => m.workload.name).join(', ')}): pocker publishes the ports of one container`
          : 'selects no Pod of this file',
      );
      continue;
    }
    const ports = servicePorts(svc, matches[0]!);
    if (ports) matches[0]!.main.network.ports.push(...ports);
  }
}
