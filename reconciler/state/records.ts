import type { ContainerSpec, RestartBackoff, SpecSource, UserSpec } from '../spec/types.js';
import type { InstanceDirs } from './layout.js';
import type { IdRange } from './userns.js';

/**
 * Record format version. Version 1 lived in the state dir (`<state-dir>/<name>/record.json`) and
 * is migrated when found; any other version is unreadable (its container keeps its layer).
 */
export const RECORD_VERSION = 2;

/** Lifecycle phase the controller last wrote. */
export type RecordPhase = 'creating' | 'created' | 'removing';

/** Which instance a record (or a data dir) belongs to: its three directories. */
export type InstanceIdentity = InstanceDirs;

/**
 * What the controller keeps per container (`<data-dir>/containers/<name>/container.json`): what
 * the kernel cannot tell and what a restart needs, across reboots. Written atomically, with fsync.
 */
export interface ContainerRecord {
  version: typeof RECORD_VERSION;
  name: string;
  /** The instance that made this container. */
  instance: InstanceIdentity;
  /** The spec that owns this container: dir as given, file, document index. */
  source: SpecSource;
  /** Hash of the normalized user spec last applied. */
  hash: string;
  /** Normalized user spec last applied (compared field by field to decide recreate vs update). */
  user: UserSpec;
  /** Effective spec last applied. */
  spec: ContainerSpec;
  phase: RecordPhase;
  /** When this container (this writable layer) was created. */
  createdAtMs: number;
  /** Restarts since creation. */
  restartCount: number;
  /** Restarts in a row without a run long enough to reset the backoff (sets the next delay). */
  backoffStep: number;
  /** Git commit of the spec dir when this spec was last applied, if it is a git work tree. */
  revision?: string;
  /** Restart backoff in effect (the spec's over the controller's defaults), so `ps` can tell when a restart is due. */
  backoff?: RestartBackoff;
  /**
   * Set when the container was stopped on purpose (`state: stopped`, `pocker stop`): no restart
   * policy applies, and it starts again (on the same writable layer) only when asked to.
   */
  stoppedAtMs?: number;
  /** Boot (the kernel's boot_id) during which the container last started: another one means a reboot came between. */
  bootId: string;
  /** The exit that ended the run before the current one (kept when a restart removes exit.json). */
  lastExit?: ExitRecord;
  /** The run (record creation time) of each dependency this start followed (restartWith compares them). */
  dependencyRuns?: Record<string, number>;
  /** The host ids of its own user namespace (`userns: auto`), reserved until it is removed; absent: the host's. */
  userns?: IdRange;
}

/** What release 1 kept in `<state-dir>/<name>/record.json`: read once, to migrate it to the data dir. */
export interface LegacyRecord extends Omit<ContainerRecord, 'version' | 'instance' | 'bootId' | 'lastExit'> {
  version: 1;
  cgroupParent: string;
}

/** Health of a container as its checks last found it (`health.json`, written by the controller). */
export interface HealthRecord {
  status: 'starting' | 'healthy' | 'unhealthy';
  /** Failed checks in a row. */
  failingStreak: number;
  /** Init pid this health belongs to (a new run starts over). */
  initPid: number;
  lastCheckAtMs: number;
  /** Exit code of the last check (-1: timed out or could not run). */
  lastExitCode: number;
  /** Start of the last check's output. */
  lastOutput: string;
}

/** Written by the monitor once the workload has been exec'd (`pids.json`). */
export interface PidsRecord {
  /** Boot during which the monitor wrote it (monitors of release 1 did not say; their pids are of this boot). */
  bootId?: string;
  monitorPid: number;
  /** Start time in clock ticks since boot, to detect pid reuse. */
  monitorStart: number;
  /** Host pid of the container's init (PID 1 inside). */
  initPid: number;
  initStart: number;
  startedAtMs: number;
}

/** Written by the monitor when the init has exited (`exit.json`). */
export interface ExitRecord {
  /** Exit code of the init (the workload's code, 128+signal if the workload was killed); -1 if the init was killed. */
  exitCode: number;
  /** Signal that killed the init itself (0 if it exited). */
  signal: number;
  /** An OOM kill happened in the container's memory cgroup during this run. */
  oomKilled: boolean;
  oomKillCount: number;
  startedAtMs: number;
  finishedAtMs: number;
}

type Check = (v: unknown) => boolean;
const isInt: Check = (v) => Number.isSafeInteger(v);
const isStr: Check = (v) => typeof v === 'string';
const isObj: Check = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function checkShape(value: unknown, shape: Record<string, Check>): string | null {
  if (!isObj(value)) return 'not a JSON object';
  const o = value as Record<string, unknown>;
  for (const [k, check] of Object.entries(shape)) if (!check(o[k])) return `field "${k}" is missing or invalid`;
  return null;
}

/** Parses JSON text and checks it has the given shape; returns the value or why not. */
function parseChecked<T>(text: string, shape: Record<string, Check>): { value: T } | { problem: string } {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { problem: `not valid JSON (${(e as Error).message})` };
  }
  const problem = checkShape(value, shape);
  return problem ? { problem } : { value: value as T };
}

const COMMON_FIELDS: Record<string, Check> = {
  name: isStr,
  source: (v) => isObj(v) && isStr((v as SpecSource).dir) && isStr((v as SpecSource).file) && isInt((v as SpecSource).doc),
  hash: isStr,
  user: isObj,
  spec: (v) => isObj(v) && Array.isArray((v as ContainerSpec).command) && Array.isArray((v as ContainerSpec).layers),
  phase: (v) => v === 'creating' || v === 'created' || v === 'removing',
  createdAtMs: isInt,
  restartCount: isInt,
  backoffStep: (v) => v === undefined || isInt(v),
  stoppedAtMs: (v) => v === undefined || isInt(v),
};

const isIdentity: Check = (v) =>
  isObj(v) &&
  isStr((v as InstanceIdentity).stateDir) &&
  isStr((v as InstanceIdentity).dataDir) &&
  isStr((v as InstanceIdentity).cgroupParent);

export function parseContainerRecord(text: string): { value: ContainerRecord } | { problem: string } {
  const r = parseChecked<ContainerRecord>(text, {
    version: (v) => v === RECORD_VERSION,
    ...COMMON_FIELDS,
    instance: isIdentity,
    bootId: isStr,
  });
  if ('value' in r) withSpecDefaults(r.value.spec);
  return r;
}

/** Fills the effective-spec fields a record written before they existed lacks (empty lists). */
function withSpecDefaults(spec: ContainerSpec): void {
  spec.volumes ??= [];
  spec.tmpfs ??= [];
  spec.files ??= [];
  spec.autoUpdate ??= null;
  spec.network.ingress ??= [];
  spec.network.egress ??= [];
  spec.secrets ??= [];
  spec.userns ??= { mode: 'host' };
  for (const m of spec.mounts) m.idmap ??= true;
}

export function parseLegacyRecord(text: string): { value: LegacyRecord } | { problem: string } {
  return parseChecked<LegacyRecord>(text, { version: (v) => v === 1, ...COMMON_FIELDS, cgroupParent: isStr });
}

/** A release-1 record as a current one, for the instance and boot it was found in. */
export function migrateLegacyRecord(legacy: LegacyRecord, instance: InstanceIdentity, bootId: string): ContainerRecord {
  const { cgroupParent, version, ...rest } = legacy;
  void version;
  withSpecDefaults(rest.spec);
  return { ...rest, version: RECORD_VERSION, instance: { ...instance, cgroupParent }, bootId };
}

/** Whether two identities name the same instance. */
export function sameInstance(a: InstanceIdentity, b: InstanceIdentity): boolean {
  return a.stateDir === b.stateDir && a.dataDir === b.dataDir && a.cgroupParent === b.cgroupParent;
}

export function parsePidsRecord(text: string): { value: PidsRecord } | { problem: string } {
  return parseChecked<PidsRecord>(text, {
    bootId: (v) => v === undefined || isStr(v),
    monitorPid: isInt,
    monitorStart: isInt,
    initPid: isInt,
    initStart: isInt,
    startedAtMs: isInt,
  });
}

export function parseExitRecord(text: string): { value: ExitRecord } | { problem: string } {
  return parseChecked<ExitRecord>(text, {
    exitCode: isInt,
    signal: isInt,
    oomKilled: (v) => typeof v === 'boolean',
    startedAtMs: isInt,
    finishedAtMs: isInt,
  });
}

export function parseHealthRecord(text: string): { value: HealthRecord } | { problem: string } {
  return parseChecked<HealthRecord>(text, {
    status: (v) => v === 'starting' || v === 'healthy' || v === 'unhealthy',
    failingStreak: isInt,
    initPid: isInt,
    lastCheckAtMs: isInt,
    lastExitCode: isInt,
    lastOutput: isStr,
  });
}
