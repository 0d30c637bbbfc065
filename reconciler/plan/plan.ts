import { observedStatus, type ActualContainer, type ActualSet } from '../observe/types.js';
import { stableJson } from '../spec/hash.js';
import type { DirLoad } from '../spec/load.js';
import type { DesiredContainer, SpecSource, UserSpec } from '../spec/types.js';
import { desiredLimits, formatLimit, limitDiff, type LimitFacts, type Limits } from '../limits/limits.js';
import { ioDeviceProblems } from '../limits/io.js';
import { effectiveBackoff, formatWait, restartTiming } from './backoff.js';
import type { RestartBackoff } from '../spec/types.js';
import type { Action, FirewallView, Plan, PlanProblem, RecreateAction, RestartAction } from './types.js';
import { isAdhoc } from '../state/adhoc.js';
import { dependencyRuns, isCompleted, recreatedDependencies, unmetDependencies } from './dependencies.js';
import { pinnedTo } from './pins.js';
import { decideRemovals, type HeldRemovals } from './removals.js';
import { describeFileChanges, diffFiles, fileChangeEffect } from './files.js';

/** Everything one planning pass looks at. Pure data: planning does no I/O. */
export interface PlanInput {
  /** The spec dir as given; the pass owns exactly the containers whose record names it. */
  source: string;
  load: Pick<DirLoad, 'status' | 'statusError' | 'files' | 'desired' | 'failedFiles'>;
  actual: ActualSet;
  facts: LimitFacts;
  /** Remove containers even when the spec dir is empty. */
  allowEmpty: boolean;
  /** Current time (epoch ms): restarts wait out their backoff. */
  now: number;
  /** Restart backoff where a spec sets none. */
  backoff: RestartBackoff;
  /** Refuse every removal of this plan when more than this many would go. */
  maxDeletions?: number;
  /** The other containers dependencies are looked up in (default: actual.containers). */
  dependencies?: ReadonlyMap<string, ActualContainer>;
  /**
   * A registry image resolved to another digest than its container is pinned to moves it
   * (`pocker image update`); otherwise the container's pin wins (a load made before a pin moved).
   */
  movePins?: boolean;
  /** Firewall tables of running bridge containers, read back by the pass (absent: not compared). */
  firewalls?: ReadonlyMap<string, FirewallView>;
}

/** Spec fields the running process has already seen: changing any of them recreates. */
export const RECREATE_FIELDS = [
  'hostname',
  'image',
  'command',
  'env',
  'workingDir',
  'network',
  'mounts',
  'volumes',
  'tmpfs',
  'privileged',
  'capabilities',
  'user',
  'readOnlyRootfs',
  'tty',
] as const;

function sameSource(a: SpecSource, b: SpecSource): boolean {
  return a.dir === b.dir && a.file === b.file && a.doc === b.doc && Object.keys(a).length === Object.keys(b).length;
}

/** User-spec fields that differ and force a recreate. */
export function recreateFields(was: UserSpec, now: UserSpec): string[] {
  // Aliases are the other containers' business (their /etc/hosts), not this process's; firewall
  // rules are replaced in place.
  const seen = (u: UserSpec, f: (typeof RECREATE_FIELDS)[number]): string =>
    stableJson(f === 'network' && u.network ? { ...u.network, aliases: undefined, ingress: undefined, egress: undefined } : u[f]);
  return RECREATE_FIELDS.filter((f) => seen(was, f) !== seen(now, f));
}

/** Whether the restart policy asks for another run after this exit (null = exit unknown). */
export function wantsRestart(policy: DesiredContainer['spec']['restart'], exit: ActualContainer['exit']): boolean {
  if (policy === 'always') return true;
  if (policy === 'never') return false;
  return !exit || exit.exitCode !== 0 || exit.signal !== 0 || exit.oomKilled;
}

function describeExit(a: ActualContainer): string {
  const e = a.exit;
  if (!e) return 'stopped without an exit record';
  if (e.oomKilled) return `was OOM-killed (exit ${e.exitCode})`;
  if (e.signal) return `was killed by signal ${e.signal}`;
  return `exited with code ${e.exitCode}`;
}

/**
 * The init is gone but its monitor lives: it is writing the exit record, which the restart
 * decision and its backoff need. Look again shortly (the watch on the monitor also wakes us).
 */
function awaitingExitRecord(a: ActualContainer, now: number): Action | null {
  return !a.exit && a.monitorAlive
    ? { kind: 'none', name: a.name, reason: 'exiting: its monitor is recording the exit', retryAt: now + 50 }
    : null;
}

/**
 * A spec that says `state: stopped`: stop what runs and mark it stopped; leave a stopped one as it
 * is (spec changes that need a recreate wait until it runs again).
 */
function planStopped(a: ActualContainer, now: number): Action {
  const state = observedStatus(a);
  const exiting = state === 'exited' || state === 'lost' ? awaitingExitRecord(a, now) : null;
  if (exiting) return exiting;
  if (a.record!.stoppedAtMs !== undefined && state !== 'running') return { kind: 'none', name: a.name, reason: 'stopped (state: stopped)' };
  return { kind: 'stop', name: a.name, actual: a, reason: 'state: stopped' };
}

/** What the plan says of a recreate: the new container starts on an empty writable layer. */
export const DISCARDS_LAYER = 'discards the writable layer';

/** The limits a desired container means on this host, as the kernel will hold them (what every starting action carries). */
export function specLimits(d: DesiredContainer, facts: LimitFacts): Limits {
  return desiredLimits(d.spec.resources, facts, d.spec.state === 'paused');
}

function restart(
  d: DesiredContainer,
  a: ActualContainer,
  facts: LimitFacts,
  reason: string,
  extra: Partial<RestartAction> = {},
): RestartAction {
  return { kind: 'restart', name: a.name, desired: d, actual: a, limits: specLimits(d, facts), backoffStep: 0, reason, ...extra };
}

function recreate(d: DesiredContainer, a: ActualContainer, facts: LimitFacts, changed: string[], reason: string): RecreateAction {
  return { kind: 'recreate', name: a.name, desired: d, actual: a, limits: specLimits(d, facts), changed, reason };
}

function planOne(d: DesiredContainer, a: ActualContainer | undefined, input: PlanInput): Action | PlanProblem {
  const name = d.spec.name;
  if (d.contentProblem)
    return { name, severity: 'error', message: `HOST_CHECK: ${d.contentProblem}; ${a ? 'the container is left as it is' : 'not created'}` };
  if (d.pendingImage) {
    const p = d.pendingImage;
    if (p.error) return { name, severity: 'error', message: `${p.error}${a ? ' (the container is left as it is)' : ''}` };
    return { kind: 'none', name, reason: `image ${p.pull} is not in the store yet: it is pulled first` };
  }
  if (!a)
    return d.spec.state === 'stopped'
      ? { kind: 'none', name, reason: 'state: stopped; not created' }
      : {
          kind: 'create',
          name,
          desired: d,
          limits: specLimits(d, input.facts),
          reason: d.spec.image ? `new spec, image ${d.spec.image.reference}@${d.spec.image.digest}` : 'new spec',
        };
  if (a.foreign) {
    const f = a.foreign;
    return {
      name,
      severity: 'error',
      message: `container "${name}" was made by the instance of --state-dir ${f.stateDir}, --data-dir ${f.dataDir}, --cgroup-parent ${f.cgroupParent}; left alone`,
    };
  }
  if (a.unidentified?.length) {
    return {
      name,
      severity: 'warning',
      message: `container "${name}" has processes in its cgroup (${a.unidentified.join(' ')}) but no pids record, and none of them is its init: left alone`,
    };
  }
  const state = observedStatus(a);
  if (state === 'corrupt') {
    if (d.spec.state === 'stopped')
      return { kind: 'none', name, reason: `its record is unreadable (${a.recordProblem ?? 'missing'}); state: stopped` };
    return restart(
      d,
      a,
      input.facts,
      `its record is unreadable (${a.recordProblem ?? 'missing'}); starting it again on its writable layer`,
    );
  }
  const rec = a.record!;
  const pin = rec.spec.image;
  if (pin && d.spec.image && pin.reference === d.spec.image.reference && pin.digest !== d.spec.image.digest) {
    if (input.movePins) {
      return recreate(
        d,
        a,
        input.facts,
        ['image'],
        `image ${pin.reference} moves from ${pin.digest} to ${d.spec.image.digest}; ${DISCARDS_LAYER}`,
      );
    }
    d = pinnedTo(d, rec.spec);
  }
  if (rec.source.dir !== input.source) {
    const owner = isAdhoc(rec.source)
      ? 'was started by pocker run (pocker rm it first)'
      : `belongs to ${rec.source.dir}/${rec.source.file}`;
    return { name, severity: 'error', message: `container "${name}" ${owner}; ${d.source.dir}/${d.source.file} cannot take it over` };
  }
  if (rec.phase === 'removing') return recreate(d, a, input.facts, [], `left half-removed by an interrupted pass; ${DISCARDS_LAYER}`);
  if (d.spec.state === 'stopped') return planStopped(a, input.now);
  // Equal hashes mean equal normalized user specs: nothing to compare field by field.
  const files = diffFiles(rec.spec, d.spec);
  const changed = [...(rec.hash === d.hash ? [] : recreateFields(rec.user, d.user)), ...files.layoutChanged];
  if (changed.length) return recreate(d, a, input.facts, changed, `changed: ${changed.join(', ')}; ${DISCARDS_LAYER}`);
  if (state === 'creating') {
    return recreate(d, a, input.facts, [], 'left half-created by an interrupted pass');
  }
  if (state === 'exited' || state === 'lost') {
    const exiting = awaitingExitRecord(a, input.now);
    if (exiting) return exiting;
    if (rec.stoppedAtMs !== undefined) return restart(d, a, input.facts, `state: ${d.spec.state} (was stopped)`);
    if (state === 'lost' && a.rebooted) return restart(d, a, input.facts, 'it was running when the host went down (another boot since)');
    if (isCompleted(a)) return { kind: 'none', name, reason: `completed (exited with code 0; restart: ${d.spec.restart})` };
    if (!wantsRestart(d.spec.restart, a.exit)) return { kind: 'none', name, reason: `${describeExit(a)}; restart: ${d.spec.restart}` };
    const t = restartTiming(a, effectiveBackoff(d.spec, input.backoff));
    if (input.now < t.notBefore) {
      return {
        kind: 'none',
        name,
        reason: `${describeExit(a)}; backoff (retry in ${formatWait(t.notBefore - input.now)})`,
        retryAt: t.notBefore,
      };
    }
    return restart(d, a, input.facts, `${describeExit(a)}; restart: ${d.spec.restart}`, { backoffStep: t.step + 1 });
  }
  const hc = d.spec.healthcheck;
  if (a.health?.status === 'unhealthy' && hc?.onUnhealthy === 'restart') {
    return restart(d, a, input.facts, `unhealthy (${a.health.failingStreak} failed checks in a row)`, {
      backoffStep: (rec.backoffStep ?? 0) + 1,
    });
  }
  const limits = specLimits(d, input.facts);
  if (!a.limits) return restart(d, a, input.facts, 'its cgroup is missing');
  if (a.networkProblem) return restart(d, a, input.facts, `network: ${a.networkProblem}; attaching it again`);
  const effect = fileChangeEffect(files.changed);
  if (files.changed.length && effect.restart)
    return restart(
      d,
      a,
      input.facts,
      `files changed: ${describeFileChanges(files.changed)}; rewritten, then restarted on its writable layer`,
    );
  const diff = limitDiff(limits, a.limits);
  const sameRecord =
    rec.hash === d.hash &&
    rec.phase === 'created' &&
    sameSource(rec.source, d.source) &&
    !a.legacy &&
    !a.pidsRecovered &&
    !files.changed.length &&
    !files.recordOnly;
  // A throttled device that does not resolve is left out of `limits`; the update fails at its host check.
  const ioProblem = ioDeviceProblems(d.spec.resources.io, input.facts.blockDevices)[0];
  const rewrite = files.changed.length && !effect.restart ? { changes: files.changed, signals: effect.signals } : undefined;
  const fw = input.firewalls?.get(name);
  const firewall = fw?.diff ? fw : undefined;
  if (diff.length === 0 && sameRecord && !ioProblem && !rewrite && !firewall) return { kind: 'none', name, reason: 'up to date' };
  const reason = ioProblem
    ? ioProblem.message
    : firewall && !rewrite && !diff.length
      ? firewall.diff
      : rewrite
        ? `files changed: ${describeFileChanges(rewrite.changes)}; rewritten in place${rewrite.signals.length ? `, then ${rewrite.signals.join(', ')}` : ''}`
        : diff.length
          ? `resources: ${diff.map((k) => `${k} ${formatLimit(k, a.limits!)} -> ${formatLimit(k, limits)}`).join(', ')}`
          : a.pidsRecovered
            ? 'adopting it: its processes run, but their pids record was lost (state dir emptied)'
            : a.legacy
              ? 'moving its record to the data dir (written by an earlier release)'
              : rec.phase === 'creating'
                ? 'adopting it: started, but the controller that started it stopped before recording it'
                : rec.hash !== d.hash
                  ? 'spec changed in fields that need no restart'
                  : 'spec moved to another file';
  return {
    kind: 'update',
    name,
    desired: d,
    actual: a,
    limits,
    changed: diff,
    reason: firewall && (rewrite || diff.length) ? `${reason}; ${firewall.diff}` : reason,
    ...(rewrite && { files: rewrite }),
    ...(firewall && { firewall: firewall.script }),
  };
}

function isAction(x: Action | PlanProblem): x is Action {
  return 'kind' in x;
}

/** Dependents wait while a dependency is polled this often (events wake them sooner). */
const DEPENDENCY_POLL_MS = 2_000;

/**
 * planOne with the dependencies of the spec: a start (create, recreate, restart) waits until
 * every dependency meets its condition, and records which run of each it followed; a running
 * container restarts when a restartWith dependency was recreated since it started.
 */
function planWithDependencies(d: DesiredContainer, a: ActualContainer | undefined, input: PlanInput): Action | PlanProblem {
  const r = planOne(d, a, input);
  if (!d.spec.dependsOn.length || !isAction(r)) return r;
  const others = input.dependencies ?? input.actual.containers;
  const view = (n: string): ActualContainer | undefined => others.get(n);
  const starts = r.kind === 'create' || r.kind === 'recreate' || r.kind === 'restart';
  const moved = !starts && a?.record && a.initAlive ? recreatedDependencies(d, a.record, view) : [];
  if (!starts && !moved.length) return r;
  const waiting = unmetDependencies(d, view);
  if (waiting.length)
    return { kind: 'none', name: d.spec.name, reason: `waiting: ${waiting.join(', ')}`, retryAt: input.now + DEPENDENCY_POLL_MS };
  const runs = dependencyRuns(d, view);
  if (starts) return { ...r, dependencyRuns: runs };
  return { ...restart(d, a!, input.facts, `${moved.join(', ')} recreated (restartWith)`), dependencyRuns: runs };
}

/**
 * Plans one pass: for every spec of this source, create/update/recreate/restart/none; for every
 * container of this source without a spec, remove — unless its file failed to load, the spec dir
 * is missing or unreadable, or it is empty without allowEmpty. Deterministic: sorted by name.
 */
export function plan(input: PlanInput): Plan {
  const actions: Action[] = [];
  const problems: PlanProblem[] = [];
  const wanted = new Set<string>();
  for (const d of input.load.desired) {
    wanted.add(d.spec.name);
    const r = planWithDependencies(d, input.actual.containers.get(d.spec.name), input);
    if (isAction(r)) actions.push(r);
    else problems.push(r);
  }
  if (input.load.status !== 'ok') {
    problems.push({ severity: 'error', message: `spec dir unusable (${input.load.statusError ?? input.load.status}): nothing is removed` });
  }
  const candidates: ActualContainer[] = [];
  for (const a of input.actual.containers.values()) {
    if (!wanted.has(a.name) && a.foreign) {
      problems.push({
        name: a.name,
        severity: 'warning',
        message: `container "${a.name}" was made by the instance of --state-dir ${a.foreign.stateDir}, --cgroup-parent ${a.foreign.cgroupParent}: left alone`,
      });
      continue;
    }
    if (!wanted.has(a.name) && a.unidentified?.length) {
      problems.push({
        name: a.name,
        severity: 'warning',
        message: `container "${a.name}" has processes in its cgroup (${a.unidentified.join(' ')}) that none of its records explains: left alone`,
      });
      continue;
    }
    if (!wanted.has(a.name) && !a.record) {
      problems.push({
        name: a.name,
        severity: 'warning',
        message: `state record of "${a.name}" is unreadable (${a.recordProblem ?? 'missing'}); left alone: no spec of ${input.source} names it`,
      });
      continue;
    }
    if (wanted.has(a.name) || !a.record || a.record.source.dir !== input.source) continue;
    if (input.load.failedFiles.has(a.record.source.file)) {
      actions.push({ kind: 'none', name: a.name, reason: `spec file ${a.record.source.file} has errors; keeping the container as it is` });
    } else {
      candidates.push(a);
    }
  }
  const decision = decideRemovals(
    input.source,
    input.load.status,
    input.load.files.length,
    candidates.map((a) => a.name),
    { allowEmpty: input.allowEmpty, ...(input.maxDeletions !== undefined && { maxDeletions: input.maxDeletions }) },
  );
  for (const a of candidates) {
    if ('approved' in decision)
      actions.push({ kind: 'remove', name: a.name, actual: a, reason: `no spec any more (was ${a.record!.source.file})` });
    else actions.push({ kind: 'none', name: a.name, reason: `removal held: ${decision.held.reason}` });
  }
  let held: HeldRemovals | undefined;
  if ('held' in decision) {
    held = decision.held;
    // An unusable dir is reported above already.
    if (held.rule !== 'unusable') problems.push({ severity: held.rule === 'cap' ? 'error' : 'warning', message: held.reason });
  }
  actions.sort((x, y) => (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return { actions, problems, ...(held && { held }) };
}
