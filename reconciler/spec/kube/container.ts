/**
 * One container of a Pod as a pocker spec document: image, command and args (Kubernetes'
 * Entrypoint and Cmd rules, which are pocker's), env, workingDir, resources, ports, mounts,
 * probes (the Pod's container only: init containers have none), security, tty, and the fields a
 * Pod has no place for from `pocker.io/` annotations.
 */
import { ANNOTATION } from './annotations.js';
import { SpecBuilder } from './builder.js';
import type { ContainerAnnotations, PodContext } from './context.js';
import type { Cursor } from './cursor.js';
import { importEnv } from './env.js';
import { expand } from './expansion.js';
import { importProbes } from './probes.js';
import { importResources } from './resources.js';
import { CONTAINER, CONTAINER_PORT, NOT_SUPPORTED } from './rules.js';
import { importSecurity } from './security.js';
import { importMounts } from './volumes.js';

/** Whether a container is the Pod's one container or one of its init containers (a job it depends on). */
export type Role = 'main' | 'init';

const NO_PROBES = 'is not supported for an init container (Kubernetes refuses it too)';

/** The image: a registry reference, or pocker's layers or store image from annotations. */
function importImage(c: Cursor, b: SpecBuilder, ann: ContainerAnnotations): void {
  const image = c.at('image');
  const layers = ann.json(ANNOTATION.layers);
  const ref = ann.get(ANNOTATION.imageRef);
  const pinnedFrom = ann.get(ANNOTATION.image);
  if (layers || ref) {
    const by = layers ? layers.at : ref!;
    if (image.present) image.refuse(`and ${by.path[by.path.length - 1]} both say which image it runs: remove one`);
    else if (layers && ref) ref.refuse(`and ${layers.at.path[layers.at.path.length - 1]} both say which image it runs: remove one`);
    else if (layers) b.set(['image'], { layers: layers.value }, layers.at.place);
    else {
      const r = ref!.string();
      if (r !== undefined) b.set(['image'], { ref: r }, ref!.place);
    }
  } else {
    const s = image.string();
    if (s === undefined) {
      if (!image.present)
        image.refuse('is missing: give a registry image (or, for pocker, the pocker.io/layers or pocker.io/image-ref annotation)');
      return;
    }
    let reference = s;
    const p = pinnedFrom?.string();
    if (pinnedFrom && p !== undefined) {
      if (!s.startsWith(`${p}@`))
        pinnedFrom.fail(`says ${p}, but the image is ${s} (not ${p}@DIGEST): remove the annotation or make them agree`);
      else reference = p;
    }
    b.set(['image'], reference, image.place);
  }
  const policy = c.at('imagePullPolicy').string();
  if (policy === 'Never') b.set(['pull'], 'never', c.at('imagePullPolicy').place);
  else if (policy === 'Always')
    c.at('imagePullPolicy').refuse(
      'Always is not supported: pocker pulls a missing image and keeps running the digest it pinned (IfNotPresent; pocker image update moves it)',
    );
  else if (policy !== undefined && policy !== 'IfNotPresent') c.at('imagePullPolicy').fail(`${policy} is not a pull policy`);
}

/** The fields pocker keeps in annotations alone: state, stopSignal, restartBackoff. */
function importAnnotationFields(b: SpecBuilder, ann: ContainerAnnotations): void {
  for (const [key, field] of [
    [ANNOTATION.state, 'state'],
    [ANNOTATION.stopSignal, 'stopSignal'],
  ] as const) {
    const at = ann.get(key);
    const v = at?.string();
    if (at && v !== undefined) b.set([field], v, at.place);
  }
  const backoff = ann.json(ANNOTATION.restartBackoff);
  if (backoff) b.set(['restartBackoff'], backoff.value, backoff.at.place);
}

/** Reads the container's ports: published ones (hostPort) into the network draft; names for probes and Services. */
function importPorts(c: Cursor, b: SpecBuilder, role: Role, pod: PodContext): Map<string, number> {
  const names = new Map<string, number>();
  for (const p of c.at('ports').list()) {
    p.keys(CONTAINER_PORT, NOT_SUPPORTED);
    const container = p.at('containerPort').int();
    if (container === undefined) {
      if (!p.at('containerPort').present) p.refuse('needs a containerPort');
      continue;
    }
    const name = p.at('name').string();
    if (name !== undefined) names.set(name, container);
    const protoAt = p.at('protocol');
    const proto = protoAt.string();
    if (proto !== undefined && proto !== 'TCP' && proto !== 'UDP')
      protoAt.refuse(`${proto} is not supported: pocker publishes TCP and UDP`);
    const host = p.at('hostPort').int();
    if (host === undefined) {
      if (p.at('hostIP').present) p.at('hostIP').refuse('is not supported without a hostPort');
      continue;
    }
    if (pod.hostNetwork) {
      if (host !== container) p.at('hostPort').refuse('must equal containerPort with hostNetwork (Kubernetes refuses it too)');
      continue;
    }
    if (role === 'init') {
      p.at('hostPort').refuse("is not supported for an init container: the Pod's container publishes the ports");
      continue;
    }
    const hostIP = p.at('hostIP').string();
    b.network.ports.push({
      port: {
        host,
        container,
        ...(proto !== undefined && { protocol: proto === 'UDP' ? ('udp' as const) : ('tcp' as const) }),
        ...(hostIP !== undefined && { hostIP }),
      },
      from: p.place,
    });
  }
  return names;
}

/**
 * Reads one container into a spec document named `name` (the Pod's name for its container, the
 * init container's name for a job). Pod-level fields (restart, network mode, hostname, grace
 * period, dependencies) are the Pod's business.
 */
export function importContainer(
  c: Cursor,
  name: string,
  role: Role,
  pod: PodContext,
  ann: ContainerAnnotations,
  index: number,
): SpecBuilder {
  const b = new SpecBuilder(name, c.place, index);
  c.keys(CONTAINER, NOT_SUPPORTED);
  importImage(c, b, ann);
  const vars = importEnv(c, b, pod.resources);
  for (const key of ['command', 'args'] as const) {
    const list = c.at(key).strings();
    if (list !== undefined)
      b.set(
        [key],
        list.map((a) => expand(a, (n) => vars.get(n))),
        c.at(key).place,
      );
  }
  const wd = c.at('workingDir').string();
  if (wd !== undefined) b.set(['workingDir'], wd, c.at('workingDir').place);
  importResources(c, b, ann);
  const names = importPorts(c, b, role, pod);
  importMounts(c, name, b, pod, ann);
  if (role === 'main') importProbes(c, b, names, vars, ann);
  else for (const k of ['livenessProbe', 'readinessProbe', 'startupProbe']) if (c.at(k).present) c.at(k).refuse(NO_PROBES, 'key');
  importSecurity(c, pod.security, b, ann);
  const tty = c.at('tty').bool();
  const stdin = c.at('stdin').bool();
  if (tty) b.set(['tty'], true, c.at('tty').place);
  else if (stdin)
    c.at('stdin').refuse('is not supported without tty: pocker keeps no stdin open for a container (tty: true gives it a terminal)');
  if (c.at('stdinOnce').bool()) c.at('stdinOnce').refuse("is not supported: nothing attaches to a pocker container's stdin");
  c.at('terminationMessagePath').string();
  c.at('terminationMessagePolicy').string();
  importAnnotationFields(b, ann);
  return b;
}
