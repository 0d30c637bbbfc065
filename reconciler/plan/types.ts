import type { ActualContainer } from '../observe/types.js';
import type { DesiredContainer } from '../spec/types.js';
import type { Limits } from '../limits/limits.js';
import type { HeldRemovals } from './removals.js';
import type { FileChange } from './files.js';

/** What the plan does to one container. */
export type ActionKind = 'create' | 'update' | 'recreate' | 'restart' | 'stop' | 'remove' | 'none';

interface ActionBase {
  kind: ActionKind;
  name: string;
  /** Human-readable why, shown by --dry-run and in logs. */
  reason: string;
}

/** Start a container that does not exist (cleaning up leftovers of the same name first). */
export interface CreateAction extends ActionBase {
  kind: 'create';
  desired: DesiredContainer;
  /** The run of each dependency the start follows (recorded for restartWith). */
  dependencyRuns?: Record<string, number>;
  /** Limits to start it with, exactly as the kernel will hold them. */
  limits: Limits;
}

/** Change a running container in place: same process, new limits and/or a new record (also: adopt pids found in its cgroup, move a release-1 record to the data dir). */
export interface UpdateAction extends ActionBase {
  kind: 'update';
  desired: DesiredContainer;
  actual: ActualContainer;
  /** Limits to write (the whole desired set; only `changed` differ). */
  limits: Limits;
  changed: Array<keyof Limits>;
  /** Files and secrets to rewrite in place, then the signals to send the workload (none of them asks for a restart). */
  files?: { changes: FileChange[]; signals: string[] };
  /** The nft script to replace the container's firewall table with (its rules changed, or the table drifted). */
  firewall?: string;
}

/** How a running bridge container's firewall table compares with what its rules ask for now (read by the pass). */
export interface FirewallView {
  /** The nft script its rules give with the addresses of now. */
  script: string;
  /** Why the table must be replaced, as a plan shows it (the rule lines that change, or the drift found); empty when it is as it should be. */
  diff: string;
}

/** Replace a container: anything the running process already saw changed. */
export interface RecreateAction extends ActionBase {
  kind: 'recreate';
  desired: DesiredContainer;
  /** The run of each dependency the start follows (recorded for restartWith). */
  dependencyRuns?: Record<string, number>;
  actual: ActualContainer;
  /** Limits to start the new container with. */
  limits: Limits;
  /** Spec fields that changed. */
  changed: string[];
}

/**
 * Start the container again on its own writable layer, stopping it first if it runs: the workload
 * exited (restart policy), is unhealthy, was stopped, the host rebooted, its network or record
 * must be rebuilt, or a restart was asked for.
 */
export interface RestartAction extends ActionBase {
  kind: 'restart';
  desired: DesiredContainer;
  /** The run of each dependency the start follows (recorded for restartWith). */
  dependencyRuns?: Record<string, number>;
  actual: ActualContainer;
  /** Limits to start it again with. */
  limits: Limits;
  /** Quick restarts in a row, this one included (recorded; sets the next delay). */
  backoffStep: number;
}

/** Stop a container on purpose (`state: stopped`), keeping its writable layer, log and cgroups. */
export interface StopAction extends ActionBase {
  kind: 'stop';
  actual: ActualContainer;
}

/** Stop and delete a container whose spec is gone. */
export interface RemoveAction extends ActionBase {
  kind: 'remove';
  actual: ActualContainer;
}

/** Nothing to do (now). */
export interface NoneAction extends ActionBase {
  kind: 'none';
  /** Epoch ms at which the container wants to be looked at again (a restart waiting out its backoff). */
  retryAt?: number;
}

export type Action = CreateAction | UpdateAction | RecreateAction | RestartAction | StopAction | RemoveAction | NoneAction;

/** A problem the plan found that is not an action (reported; the container is left alone). */
export interface PlanProblem {
  name?: string;
  message: string;
  /** error: the pass fails (exit non-zero); warning: reported only. */
  severity: 'error' | 'warning';
}

/** The result of planning one pass. */
export interface Plan {
  actions: Action[];
  problems: PlanProblem[];
  /** Removals the pass kept back (empty spec dir, deletion cap), all of them. */
  held?: HeldRemovals;
}
