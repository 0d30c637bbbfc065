import { parseSpecFile } from '../../reconciler/spec/parse.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { stringify } from 'yaml';
import type { ActualContainer, ActualSet } from '../../reconciler/observe/types.js';
import type { LimitFacts, Limits } from '../../reconciler/limits/limits.js';
import { DEFAULT_BACKOFF } from '../../reconciler/plan/backoff.js';
import type { PlanInput } from '../../reconciler/plan/plan.js';
import { RECORD_VERSION, type ContainerRecord } from '../../reconciler/state/records.js';

/** Parses a spec object as if it were the only document of `<dir>/<name>.yaml`. */
export function desired(obj: Record<string, unknown>, dir = '/specs', file?: string): DesiredContainer {
  const f = file ?? `${String(obj.name ?? 'c')}.yaml`;
  const r = parseSpecFile(stringify(obj), `${dir}/${f}`, { dir, file: f });
  if (r.errors.length) throw new Error(r.errors.map((e) => e.message).join('; '));
  return r.specs[0]!;
}

/** A small valid spec object. */
export function specObj(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, image: { layers: ['/layers/busybox'] }, command: ['sleep', '3600'], ...extra };
}

/** The record a container created from d would have. */
export function recordOf(d: DesiredContainer, extra: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    version: RECORD_VERSION,
    name: d.spec.name,
    instance: { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' },
    source: d.source,
    hash: d.hash,
    user: d.user,
    spec: d.spec,
    phase: 'created',
    createdAtMs: 1,
    restartCount: 0,
    backoffStep: 0,
    bootId: 'fake-boot-1',
    ...extra,
  } as ContainerRecord;
}

/** An observed running container that matches d exactly (given the limits the kernel holds). */
export function running(d: DesiredContainer, limits: Limits, extra: Partial<ActualContainer> = {}): ActualContainer {
  return {
    name: d.spec.name,
    record: recordOf(d),
    pids: { monitorPid: 100, monitorStart: 1, initPid: 101, initStart: 2, startedAtMs: 3 },
    exit: null,
    initAlive: true,
    monitorAlive: true,
    limits,
    ...extra,
  };
}

/** Host facts of a 2-CPU cgroup v1 host with memsw, for pure planning tests. */
export const PLAN_FACTS: LimitFacts = {
  pageSize: 4096,
  cpuPeriodUs: 100_000,
  defaultCpuset: '0-1',
  memswSupported: true,
  cpuWeightUnit: 'shares',
};

/** The clock of pure planning tests. */
export const PLAN_NOW = 10_000_000;

/** A plan input for these desired and actual containers of source /specs (allowEmpty off, default backoff). */
export function planInput(ds: DesiredContainer[], actual: ActualContainer[], extra: Partial<PlanInput> = {}): PlanInput {
  const set: ActualSet = { containers: new Map(actual.map((a) => [a.name, a])), leftovers: [], strangers: [] };
  return {
    source: '/specs',
    load: { status: 'ok', files: ds.map((d) => d.source.file), desired: ds, failedFiles: new Set() },
    actual: set,
    facts: PLAN_FACTS,
    allowEmpty: false,
    now: PLAN_NOW,
    backoff: DEFAULT_BACKOFF,
    ...extra,
  };
}
