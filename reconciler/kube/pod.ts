/**
 * A workload: its Pod (the container, the jobs it waits for as init containers, their volumes),
 * and the Pod-level fields: hostname, hostNetwork, restartPolicy, terminationGracePeriodSeconds;
 * as a Pod, a Deployment (one replica, Recreate) or a Job (never retried, as `restart: never`).
 * What a Pod cannot say of its containers goes into the workload's `pocker.io/` annotations.
 */
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IPodSpec } from 'kubernetes-models/v1/PodSpec';
import { stableJson } from '../spec/hash.js';
import { ANNOTATION, NAME_LABEL } from '../spec/kube/annotations.js';
import { formatExactDuration } from '../spec/kube/quantity.js';
import { DEFAULT_USERNS_SIZE, type DesiredContainer, type UserSpec } from '../spec/types.js';
import { exportContainer } from './container.js';
import { PodBuild, type ContainerContext, type Role, type SharedObjects } from './context.js';
import { exportPorts } from './network.js';
import { exportNetworkPolicy, initRulesLeftOut } from './networkPolicy.js';
import type { WorkloadPlan } from './plan.js';
import { specFile, type Report } from './report.js';
import type { ExportOptions, KubeManifest } from './types.js';

/** What every workload of an export shares. */
export interface ExportEnv {
  report: Report;
  opts: ExportOptions;
  shared: SharedObjects;
  labels: (name?: string) => Record<string, string>;
  /** The workloads whose Pods hold each init container (by its name). */
  initOwners: ReadonlyMap<string, string[]>;
  /** Every container of the spec dir (what firewall rules may name). */
  all: readonly DesiredContainer[];
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const POCKER_GRACE_MS = 10_000;

type NetworkMode = 'none' | 'host' | 'bridge';
const modeOf = (u: UserSpec): NetworkMode => u.network?.mode ?? 'none';

/** The dependencies as the user spec holds them (defaults left out), for comparing with what pocker reads back. */
const depsOf = (u: UserSpec): unknown => stableJson(u.dependsOn ?? []);
const completed = (names: readonly string[]): unknown => stableJson(names.map((name) => ({ name, condition: 'completed' })));

/** The dependsOn of a container: the annotation when the init containers do not give it exactly; warnings for what a cluster does otherwise. */
function dependencies(ctx: ContainerContext, earlier: readonly string[], derived: readonly string[]): void {
  const { d, pod, report, init } = ctx;
  if (depsOf(d.user) !== completed(derived)) pod.annotate(ANNOTATION.dependsOn, init, JSON.stringify(d.user.dependsOn ?? []));
  for (const dep of d.spec.dependsOn) {
    const asInit = dep.condition === 'completed' && earlier.includes(dep.name);
    if (!asInit)
      report.warn(
        d,
        'dependsOn',
        `${dep.name} (${dep.condition}): Kubernetes orders no Pods: the container starts without waiting for it (the app must wait itself); pocker reads it back from pocker.io/depends-on`,
      );
    else if (dep.restartWith)
      report.warn(
        d,
        'dependsOn',
        `${dep.name} (restartWith): Kubernetes runs init containers again only when the Pod is made again: pocker reads it back from pocker.io/depends-on`,
      );
  }
}

/** The fields an init container takes from its Pod on Kubernetes, and their annotations where its spec says otherwise. */
function initPodFields(
  ctx: ContainerContext,
  role: Extract<Role, { kind: 'init' }>,
  main: DesiredContainer,
  owners: readonly string[],
): void {
  const { d, pod, report, init } = ctx;
  const u = d.user;
  report.warn(
    d,
    'name',
    `runs as an init container of ${main.spec.name}'s Pod: on Kubernetes it shares the Pod's network and hostname, and runs again whenever the Pod is made again`,
  );
  if (u.restart !== undefined && u.restart !== role.derivedRestart) {
    pod.annotate(ANNOTATION.restart, init, u.restart);
    report.warn(
      d,
      'restart',
      role.derivedRestart === 'never'
        ? `${u.restart}: in a Pod with restartPolicy Never an init container is not retried: pocker reads it back from pocker.io/restart`
        : `${u.restart}: an init container is retried until it succeeds unless its Pod's restartPolicy is Never: pocker reads it back from pocker.io/restart`,
    );
  }
  const mode = modeOf(u);
  if (mode !== role.derivedMode) {
    pod.annotate(ANNOTATION.network, init, mode);
    report.warn(
      d,
      'network.mode',
      `${mode}: an init container has its Pod's network (${modeOf(main.user)} on pocker): pocker reads it back from pocker.io/network`,
    );
  }
  if (u.network?.mode === 'none')
    report.note(
      d,
      'network.mode',
      "none is pocker's default: read back the spec has no network section (the same container under another spec hash)",
      'differs',
    );
  if (u.network?.name !== undefined) {
    pod.annotate(ANNOTATION.networkName, init, u.network.name);
    report.warn(
      d,
      'network.name',
      `${u.network.name}: an init container has its Pod's network: pocker reads it back from pocker.io/network-name`,
    );
  }
  if (u.network?.aliases) {
    pod.annotate(ANNOTATION.aliases, init, u.network.aliases.join(','));
    report.warn(d, 'network.aliases', 'an init container has no names of its own: pocker reads them back from pocker.io/aliases');
  }
  if (u.network?.ports?.length)
    report.warn(d, 'network.ports', "an init container's ports are not published: they are left out", 'differs');
  if (u.hostname !== undefined) {
    pod.annotate(ANNOTATION.hostname, init, u.hostname);
    report.warn(d, 'hostname', `${u.hostname}: an init container has its Pod's hostname: pocker reads it back from pocker.io/hostname`);
  }
  if (u.stopGracePeriodMs !== undefined) {
    pod.annotate(ANNOTATION.stopGracePeriod, init, formatExactDuration(u.stopGracePeriodMs));
    report.warn(
      d,
      'stopGracePeriod',
      "an init container has its Pod's terminationGracePeriodSeconds: pocker reads it back from pocker.io/stop-grace-period",
    );
  }
  if (owners.length > 1)
    report.warn(
      d,
      'name',
      `it is an init container of the Pods of ${owners.join(', ')}: Kubernetes runs it in each of them, pocker once (it reads one job back from them)`,
    );
  if (role.previous !== undefined && !d.spec.dependsOn.some((x) => x.name === role.previous && x.condition === 'completed'))
    report.warn(
      d,
      'dependsOn',
      `initContainers run one after the other: on Kubernetes it starts once ${role.previous} completed; pocker reads its own dependencies back from pocker.io/depends-on`,
    );
}

/**
 * The Pod's user namespace: `hostUsers: false` for pocker's default (a range of its own),
 * `hostUsers: true` for `userns: host`; a privileged container leaves it to the cluster.
 */
function podUserns(ctx: ContainerContext, spec: IPodSpec): void {
  const { d, report } = ctx;
  if (d.spec.privileged) return;
  if (spec.hostNetwork) {
    if (d.spec.userns.mode === 'auto')
      report.warn(d, 'userns', "auto with network.mode: host: Kubernetes runs a hostNetwork Pod in the host's user namespace");
    return;
  }
  spec.hostUsers = d.spec.userns.mode === 'host';
  if (d.spec.userns.mode === 'auto' && d.spec.userns.size !== DEFAULT_USERNS_SIZE)
    report.warn(d, 'userns', `size ${d.spec.userns.size}: Kubernetes gives each Pod's user namespace ${DEFAULT_USERNS_SIZE} ids`);
}

/** The network section of the Pod's container: hostNetwork, or annotations for what a Pod's network does not have. */
function mainNetwork(ctx: ContainerContext, spec: IPodSpec, hasService: boolean): void {
  const { d, pod, report } = ctx;
  const n = d.user.network;
  const mode = modeOf(d.user);
  if (mode === 'host') spec.hostNetwork = true;
  else if (mode === 'none') {
    pod.annotate(ANNOTATION.network, undefined, 'none');
    report.warn(
      d,
      'network.mode',
      'none: a Pod always has the cluster\'s network (a NetworkPolicy can deny its traffic): pocker reads "none" back from pocker.io/network',
    );
    if (n?.mode === 'none')
      report.note(
        d,
        'network.mode',
        "none is pocker's default: read back the spec has no network section (the same container under another spec hash)",
        'differs',
      );
  } else {
    if (n?.name !== undefined) {
      pod.annotate(ANNOTATION.networkName, undefined, n.name);
      report.warn(
        d,
        'network.name',
        `${n.name}: a cluster has one Pod network, not pocker's CNI networks: pocker reads it back from pocker.io/network-name`,
      );
    }
    if (n?.aliases) {
      pod.annotate(ANNOTATION.aliases, undefined, n.aliases.join(','));
      report.warn(
        d,
        'network.aliases',
        `${n.aliases.join(', ')}: other Pods reach a Pod by its Service's name only: pocker reads the aliases back from pocker.io/aliases`,
      );
    }
    if (!hasService)
      report.warn(
        d,
        'network',
        `other Pods reach a Pod by a Service's name, and a Service is made for published ports only (--publish service): pocker's peers reach it as ${d.spec.name}`,
      );
  }
}

/** The hostname, grace period and restart policy of the Pod. */
function podFields(ctx: ContainerContext, spec: IPodSpec, kind: WorkloadPlan['kind']): void {
  const { d, pod, report } = ctx;
  const u = d.user;
  if (u.hostname !== undefined) {
    if (DNS_LABEL.test(u.hostname)) spec.hostname = u.hostname;
    else {
      pod.annotate(ANNOTATION.hostname, undefined, u.hostname);
      report.warn(
        d,
        'hostname',
        `${u.hostname}: a Pod's hostname is a DNS label (lowercase, no dots): pocker reads it back from pocker.io/hostname`,
      );
    }
  } else if (kind !== 'Pod')
    report.warn(d, 'hostname', `a ${kind}'s Pod is named ${d.spec.name}-<hash>, and that is its hostname (on pocker: ${d.spec.name})`);
  const grace = d.spec.stopGracePeriodMs;
  spec.terminationGracePeriodSeconds = Math.ceil(grace / 1000);
  if (grace % 1000) {
    pod.annotate(ANNOTATION.stopGracePeriod, undefined, formatExactDuration(grace));
    report.warn(
      d,
      'stopGracePeriod',
      `Kubernetes counts whole seconds (${spec.terminationGracePeriodSeconds}s there): pocker reads ${formatExactDuration(grace)} back from pocker.io/stop-grace-period`,
    );
  }
  if (u.stopGracePeriodMs === POCKER_GRACE_MS)
    report.note(
      d,
      'stopGracePeriod',
      "10s is pocker's default, which Kubernetes does not share (30s): it is written out, and read back the spec leaves it out (the same container under another spec hash)",
      'differs',
    );
  if (kind === 'Job') spec.restartPolicy = 'Never';
  else if (u.restart !== undefined) spec.restartPolicy = u.restart === 'always' ? 'Always' : u.restart === 'never' ? 'Never' : 'OnFailure';
}

/** The objects of one workload: the workload itself, its Service when it publishes ports, its NetworkPolicy when it has firewall rules. */
export function exportWorkload(plan: WorkloadPlan, env: ExportEnv): KubeManifest[] {
  const pod = new PodBuild(plan);
  const main = plan.main;
  const base = { pod, shared: env.shared, report: env.report, opts: env.opts, labels: env.labels };
  pod.annotations['pocker.io/source'] = specFile(main);
  const mainRestart = plan.kind === 'Job' ? 'never' : main.spec.restart;
  const initNames = plan.inits.map((j) => j.spec.name);
  const initContainers: IContainer[] = plan.inits.map((j, i) => {
    const role: Role = {
      kind: 'init',
      derivedRestart: mainRestart === 'never' ? 'never' : 'on-failure',
      derivedMode: modeOf(main.user),
      ...(i > 0 && { previous: initNames[i - 1] }),
    };
    const ctx: ContainerContext = { ...base, d: j, role, init: j.spec.name, sourceAnnotation: { 'pocker.io/source': specFile(j) } };
    const c = exportContainer(ctx);
    initPodFields(ctx, role, main, env.initOwners.get(j.spec.name) ?? []);
    initRulesLeftOut(ctx, main.spec.name);
    dependencies(ctx, initNames.slice(0, i), i > 0 ? [initNames[i - 1]!] : []);
    return c;
  });
  const ctx: ContainerContext = { ...base, d: main, role: { kind: 'main' }, sourceAnnotation: { 'pocker.io/source': specFile(main) } };
  const container = exportContainer(ctx);
  const service = exportPorts(ctx, container);
  const policy = exportNetworkPolicy(ctx, env.all, env.initOwners);
  const spec: IPodSpec = { containers: [container] };
  podFields(ctx, spec, plan.kind);
  mainNetwork(ctx, spec, service !== null);
  podUserns(ctx, spec);
  dependencies(ctx, initNames, initNames);
  if (env.opts.kind === 'Deployment' && main.spec.restart === 'on-failure')
    env.report.warn(main, 'restart', "on-failure: a Deployment's Pods restart Always, so it is a Pod");
  spec.enableServiceLinks = false;
  spec.automountServiceAccountToken = false;
  if (initContainers.length) spec.initContainers = initContainers;
  if (pod.volumes.length) spec.volumes = pod.volumes;
  const name = main.spec.name;
  const metadata = { name, labels: env.labels(name), annotations: pod.annotations };
  const template = { metadata: { labels: env.labels(name) }, spec };
  const workload: KubeManifest =
    plan.kind === 'Pod'
      ? { apiVersion: 'v1', kind: 'Pod', metadata, spec }
      : plan.kind === 'Deployment'
        ? {
            apiVersion: 'apps/v1',
            kind: 'Deployment',
            metadata,
            spec: { replicas: 1, selector: { matchLabels: { [NAME_LABEL]: name } }, strategy: { type: 'Recreate' }, template },
          }
        : { apiVersion: 'batch/v1', kind: 'Job', metadata, spec: { backoffLimit: 0, template } };
  return [workload, ...(service ? [service] : []), ...(policy ? [policy] : [])];
}
