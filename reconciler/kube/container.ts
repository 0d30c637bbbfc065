/**
 * One pocker container as a Kubernetes container: image, command and args (the same Entrypoint
 * and Cmd rules), env, workingDir, limits (requests equal to them), security, tty; what a
 * container has no field for goes into `pocker.io/` annotations of its workload, with a warning.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { ISecurityContext } from 'kubernetes-models/v1/SecurityContext';
import { ANNOTATION } from '../spec/kube/annotations.js';
import { escapeExpansion, resolvesIn } from '../spec/kube/expansion.js';
import { formatExactBytes, formatExactDuration, formatKubeCpu } from '../spec/kube/quantity.js';
import type { ContainerContext } from './context.js';
import { exportMounts } from './mounts.js';
import { exportProbes } from './probes.js';

/** The fields of a user spec the export maps (the rest is reported as left out). */
const KNOWN: Record<string, readonly string[]> = {
  '': [
    'name',
    'hostname',
    'image',
    'pull',
    'command',
    'args',
    'env',
    'workingDir',
    'resources',
    'state',
    'network',
    'mounts',
    'volumes',
    'tmpfs',
    'files',
    'secrets',
    'restart',
    'stopGracePeriodMs',
    'stopSignal',
    'restartBackoff',
    'healthcheck',
    'dependsOn',
    'privileged',
    'capabilities',
    'user',
    'userns',
    'readOnlyRootfs',
    'tty',
  ],
  resources: ['cpus', 'cpuset', 'memory', 'memsw', 'pids', 'cpuShares', 'io'],
  network: ['mode', 'name', 'ports', 'aliases', 'ingress', 'egress'],
  healthcheck: ['exec', 'http', 'tcp', 'intervalMs', 'timeoutMs', 'retries', 'startPeriodMs', 'onUnhealthy'],
};

/** The spec's name of a user-spec key (`stopGracePeriodMs` is `stopGracePeriod` in a spec file). */
const specKey = (k: string): string => k.replace(/Ms$/, '');

/** Reports every field the export does not know (a field added to pocker after it): it is left out. */
function unknownFields(ctx: ContainerContext): void {
  const u = ctx.d.user as unknown as Record<string, unknown>;
  for (const [section, keys] of Object.entries(KNOWN)) {
    const obj = section ? (u[section] as Record<string, unknown> | undefined) : u;
    for (const k of Object.keys(obj ?? {}))
      if (!keys.includes(k) && obj![k] !== undefined)
        ctx.report.warn(
          ctx.d,
          section ? `${section}.${specKey(k)}` : specKey(k),
          'pocker export kube has no mapping for this field: it is left out of the manifest',
          'differs',
        );
  }
}

function image(ctx: ContainerContext, c: IContainer): void {
  const { d, pod, report, init } = ctx;
  const img = d.user.image;
  if ('reference' in img) {
    const digest = ctx.opts.pin?.(d.spec.name);
    if (digest && !img.reference.includes('@')) {
      c.image = `${img.reference}@${digest}`;
      pod.annotate(ANNOTATION.image, init, img.reference);
    } else c.image = img.reference;
    c.imagePullPolicy = d.user.pull === 'never' ? 'Never' : 'IfNotPresent';
  } else if ('layers' in img) {
    pod.annotate(ANNOTATION.layers, init, JSON.stringify(img.layers));
    report.warn(
      d,
      'image.layers',
      "layer directories have no registry name: publish the image to a registry the cluster pulls from and set the container's image (pocker reads the layers back from pocker.io/layers)",
    );
  } else {
    pod.annotate(ANNOTATION.imageRef, init, img.ref);
    report.warn(
      d,
      'image.ref',
      `${img.ref} is an image of pocker's store, not of a registry: publish it to a registry the cluster pulls from (skopeo copy) and set the container's image (pocker reads it back from pocker.io/image-ref)`,
    );
  }
}

function resources(ctx: ContainerContext, c: IContainer): void {
  const { d, pod, report, init } = ctx;
  const r = d.user.resources;
  if (!r) return;
  const limits: Record<string, string> = {};
  if (r.cpus !== undefined) limits.cpu = formatKubeCpu(r.cpus);
  if (r.memory !== undefined) limits.memory = formatExactBytes(r.memory);
  if (Object.keys(limits).length) c.resources = { limits, requests: { ...limits } };
  const carried: Array<[keyof typeof r, (typeof ANNOTATION)[keyof typeof ANNOTATION], string, string]> = [
    ['pids', ANNOTATION.pids, String(r.pids), "a container has no process limit (the node's podPidsLimit applies to the whole Pod)"],
    [
      'cpuset',
      ANNOTATION.cpuset,
      String(r.cpuset),
      "Kubernetes pins CPUs only with the kubelet's static CPU manager (whole CPUs of Guaranteed Pods)",
    ],
    [
      'memsw',
      ANNOTATION.memsw,
      r.memsw === 'unlimited' ? 'unlimited' : formatExactBytes(Number(r.memsw)),
      "a container has no swap limit (swap follows the node's swapBehavior)",
    ],
    ['io', ANNOTATION.io, JSON.stringify(r.io ?? []), 'a container has no block I/O throttles'],
    ['cpuShares', ANNOTATION.cpuShares, String(r.cpuShares), 'Kubernetes sets the CPU weight from requests.cpu'],
  ];
  for (const [field, key, value, why] of carried) {
    if (r[field] === undefined) continue;
    pod.annotate(key, init, value);
    report.warn(d, `resources.${field}`, `${why}: pocker reads it back from pocker.io/${key}`);
  }
}

function security(ctx: ContainerContext, c: IContainer): void {
  const { d, pod, report, init } = ctx;
  const u = d.user;
  const sc: ISecurityContext = {};
  if (u.privileged !== undefined) sc.privileged = u.privileged;
  if (u.capabilities)
    sc.capabilities = { ...(u.capabilities.add && { add: u.capabilities.add }), ...(u.capabilities.drop && { drop: u.capabilities.drop }) };
  if (u.user !== undefined) {
    const m = /^([0-9]+)(?::([0-9]+))?$/.exec(u.user);
    if (m) {
      sc.runAsUser = Number(m[1]);
      if (m[2] !== undefined) sc.runAsGroup = Number(m[2]);
    } else {
      pod.annotate(ANNOTATION.user, init, u.user);
      report.warn(
        d,
        'user',
        `${u.user} is a name pocker resolves in the image; Kubernetes takes numeric ids (runAsUser, runAsGroup), so the image's USER applies there: pocker reads it back from pocker.io/user`,
      );
    }
  }
  if (u.readOnlyRootfs !== undefined) sc.readOnlyRootFilesystem = u.readOnlyRootfs;
  if (u.privileged !== true) {
    sc.allowPrivilegeEscalation = false;
    sc.seccompProfile = { type: 'RuntimeDefault' };
  }
  c.securityContext = sc;
}

/** The fields a container has no place for, kept in annotations: state, stopSignal, restartBackoff. */
function carriedFields(ctx: ContainerContext): void {
  const { d, pod, report, init } = ctx;
  const u = d.user;
  if (u.state !== undefined) {
    pod.annotate(ANNOTATION.state, init, u.state);
    report.warn(
      d,
      'state',
      `${u.state}: a Pod runs; Kubernetes cannot pause or stop it and keep it (delete it, or scale a Deployment to 0): pocker reads it back from pocker.io/state`,
    );
  }
  if (u.stopSignal !== undefined) {
    pod.annotate(ANNOTATION.stopSignal, init, u.stopSignal);
    report.warn(
      d,
      'stopSignal',
      `${u.stopSignal}: Kubernetes stops a container with its image's STOPSIGNAL, else SIGTERM (lifecycle.stopSignal is alpha): pocker reads it back from pocker.io/stop-signal`,
    );
  }
  if (u.restartBackoff) {
    const b = u.restartBackoff;
    const json = {
      ...(b.initialMs !== undefined && { initial: formatExactDuration(b.initialMs) }),
      ...(b.maxMs !== undefined && { max: formatExactDuration(b.maxMs) }),
      ...(b.resetAfterMs !== undefined && { resetAfter: formatExactDuration(b.resetAfterMs) }),
    };
    pod.annotate(ANNOTATION.restartBackoff, init, JSON.stringify(json));
    report.warn(
      d,
      'restartBackoff',
      "the kubelet's restart backoff is its own (10s doubling to 5m): pocker reads it back from pocker.io/restart-backoff",
    );
  }
}

/** The Kubernetes container of a pocker container; its volumes, annotations and objects go into the context. */
export function exportContainer(ctx: ContainerContext): IContainer {
  const { d } = ctx;
  const u = d.user;
  unknownFields(ctx);
  const c: IContainer = { name: d.spec.name };
  image(ctx, c);
  const resolves = resolvesIn(u.env);
  if (u.command) c.command = u.command.map((a) => escapeExpansion(a, resolves));
  if (u.args) c.args = u.args.map((a) => escapeExpansion(a, resolves));
  if (u.env) c.env = Object.entries(u.env).map(([name, value]) => ({ name, value: escapeExpansion(value, resolves) }));
  if (u.workingDir !== undefined) c.workingDir = u.workingDir;
  resources(ctx, c);
  exportMounts(ctx, c);
  if (ctx.role.kind === 'main') exportProbes(ctx, c);
  security(ctx, c);
  if (u.tty) {
    c.tty = true;
    c.stdin = true;
  }
  carriedFields(ctx);
  return c;
}
