import { parseSpecFile } from '../../reconciler/spec/parse.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { stringify } from 'yaml';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import type { Limits } from '../../reconciler/limits/limits.js';
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
