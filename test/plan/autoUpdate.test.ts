import { describe, expect, it } from 'vitest';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import { ROLLBACK_RESTARTS, rollbackReason, updateDecision, windowPassed } from '../../reconciler/plan/autoUpdate.js';
import { plan } from '../../reconciler/plan/plan.js';
import { specHash } from '../../reconciler/spec/hash.js';
import { effectiveSpec } from '../../reconciler/spec/normalize.js';
import type { DesiredContainer, UserSpec } from '../../reconciler/spec/types.js';
import type { AutoUpdateState } from '../../reconciler/state/autoUpdate.js';
import type { ExitRecord, HealthRecord } from '../../reconciler/state/records.js';
import { PLAN_FACTS, planInput, recordOf, running } from '../helpers/specs.js';

const REF = 'docker.io/library/nginx:1.27';
const D = (c: string): string => `sha256:${c.repeat(64)}`;
const OLD = D('a');
const NEW = D('b');
const SINCE = 1_000_000;

/** A desired registry-image container, resolved and pinned to digest (no schema involved). */
function pinnedDesired(digest: string, extra: Partial<UserSpec> = {}): DesiredContainer {
  const user: UserSpec = { name: 'web', image: { reference: REF }, ...extra };
  const spec = {
    ...effectiveSpec(user),
    layers: [`/store/${digest.slice(7, 15)}/root`],
    image: { reference: REF, digest },
    command: ['nginx'],
  };
  return { spec, user, hash: specHash(user), source: { dir: '/specs', file: 'web.yaml', doc: 0 } };
}

const watching = (extra: Partial<AutoUpdateState> = {}): AutoUpdateState => ({
  phase: 'watching',
  reference: REF,
  from: OLD,
  to: NEW,
  sinceMs: SINCE,
  restartsAtStart: 0,
  bad: [],
  ...extra,
});

const exitOf = (extra: Partial<ExitRecord> = {}): ExitRecord => ({
  exitCode: 0,
  signal: 0,
  oomKilled: false,
  oomKillCount: 0,
  startedAtMs: SINCE + 10,
  finishedAtMs: SINCE + 100,
  ...extra,
});

const healthOf = (status: HealthRecord['status'], failingStreak = 0): HealthRecord => ({
  status,
  failingStreak,
  initPid: 101,
  lastCheckAtMs: SINCE + 50,
  lastExitCode: status === 'unhealthy' ? 1 : 0,
  lastOutput: '',
});

/** The container as observed: running `digest` (NEW unless told), with these record fields and observations. */
function actual(o: { digest?: string; restartCount?: number; lastExit?: ExitRecord } & Partial<ActualContainer> = {}): ActualContainer {
  const { digest = NEW, restartCount = 0, lastExit, ...rest } = o;
  const d = pinnedDesired(digest);
  return running(d, desiredLimits(d.spec.resources, PLAN_FACTS), {
    record: recordOf(d, { restartCount, ...(lastExit && { lastExit }) }),
    ...rest,
  });
}

/** Gone: the init exited with this record (its monitor has recorded it). */
const exited = (e: ExitRecord, extra: { digest?: string; restartCount?: number; lastExit?: ExitRecord } = {}): ActualContainer =>
  actual({ ...extra, initAlive: false, monitorAlive: false, exit: e });

describe('rollbackReason', () => {
  it('is null for a healthy run of the new version', () => {
    expect(rollbackReason(watching(), actual())).toBeNull();
    expect(rollbackReason(watching(), actual({ health: healthOf('healthy') }))).toBeNull();
    expect(rollbackReason(watching(), actual({ health: healthOf('starting', 1) }))).toBeNull();
    expect(rollbackReason(watching(), actual({ health: null }))).toBeNull();
  });

  it('is null outside phase watching, whatever the container does', () => {
    const failing = exited(exitOf({ exitCode: 1 }));
    for (const phase of ['idle', 'updating', 'rolling-back'] as const) expect(rollbackReason(watching({ phase }), failing)).toBeNull();
    expect(rollbackReason(watching(), failing)).toBe('it exited with code 1');
  });

  it('is null when there is no container or no readable record', () => {
    expect(rollbackReason(watching(), undefined)).toBeNull();
    expect(rollbackReason(watching(), { ...exited(exitOf({ exitCode: 1 })), record: null })).toBeNull();
  });

  it('is null while the record does not pin the new version (rolled back already, or moved by hand)', () => {
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 1 }), { digest: OLD }))).toBeNull();
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 1 }), { digest: D('c') }))).toBeNull();
    expect(rollbackReason(watching(), actual({ digest: OLD, restartCount: 9 }))).toBeNull();
    const unpinned = actual({ health: healthOf('unhealthy', 3) });
    unpinned.record!.spec = { ...unpinned.record!.spec, image: null };
    expect(rollbackReason(watching(), unpinned)).toBeNull();
    expect(rollbackReason(watching({ to: undefined }), exited(exitOf({ exitCode: 1 })))).toBeNull();
  });

  it('names a non-zero exit, a signal and an OOM kill of the run that has ended', () => {
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 3 })))).toBe('it exited with code 3');
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: -1, signal: 9 })))).toBe('it was killed by signal 9');
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 137, signal: 0, oomKilled: true, oomKillCount: 1 })))).toBe(
      'it was OOM-killed',
    );
    // An OOM kill is named as such even when the init was killed by a signal too.
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: -1, signal: 9, oomKilled: true, oomKillCount: 1 })))).toBe(
      'it was OOM-killed',
    );
  });

  it('lets an exit with code 0 pass (a run that completed)', () => {
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 0 })))).toBeNull();
  });

  it('looks at the exit record of the current run only when its init is gone', () => {
    // A stale exit.json beside a live init is not this run's.
    expect(rollbackReason(watching(), actual({ exit: exitOf({ exitCode: 1 }), initAlive: true }))).toBeNull();
    // The init gone and its monitor still writing: no exit yet, nothing to say.
    expect(rollbackReason(watching(), actual({ exit: null, initAlive: false, monitorAlive: true }))).toBeNull();
  });

  it('counts an exit of the run the policy restarted whenever it finished: a record that pins `to` only ever ran the new version', () => {
    expect(rollbackReason(watching(), actual({ lastExit: exitOf({ exitCode: 2, finishedAtMs: SINCE }) }))).toBe('it exited with code 2');
    expect(rollbackReason(watching(), actual({ lastExit: exitOf({ exitCode: 2, finishedAtMs: SINCE + 1 }) }))).toBe(
      'it exited with code 2',
    );
    expect(rollbackReason(watching(), actual({ lastExit: exitOf({ exitCode: 2, finishedAtMs: SINCE - 1 }) }))).toBe(
      'it exited with code 2',
    );
    expect(rollbackReason(watching(), actual({ lastExit: exitOf({ signal: 15, exitCode: -1 }) }))).toBe('it was killed by signal 15');
    expect(rollbackReason(watching(), actual({ lastExit: exitOf({ exitCode: 0 }) }))).toBeNull();
  });

  it('looks at record.lastExit when the current run exited cleanly or runs again', () => {
    const last = exitOf({ exitCode: 4 });
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 0 }), { lastExit: last }))).toBe('it exited with code 4');
    expect(rollbackReason(watching(), exited(exitOf({ exitCode: 1, finishedAtMs: SINCE + 200 }), { lastExit: last }))).toBe(
      'it exited with code 1',
    );
  });

  it('takes sinceMs 0 when it is missing (every exit counts)', () => {
    expect(rollbackReason(watching({ sinceMs: undefined }), actual({ lastExit: exitOf({ exitCode: 5, finishedAtMs: 1 }) }))).toBe(
      'it exited with code 5',
    );
  });

  /*
   * The current run of a record that pins `to` is a run of the new version, whenever it ended.
   * It can end before sinceMs: the workload fails at once, between the move and the record of
   * the window (afterUpdate sets sinceMs only after the pass and an observe), or while a
   * controller killed at auto-update:moved is down (resume then sets sinceMs to its own now).
   * With restart: never nothing restarts it, so no later exit or restart is ever seen: the
   * version would last its window and be kept.
   */
  it('rolls back the new version when its current run failed before sinceMs (a workload that fails at once)', () => {
    const early = exitOf({ exitCode: 1, startedAtMs: SINCE - 300, finishedAtMs: SINCE - 200 });
    expect(rollbackReason(watching(), exited(early))).toBe('it exited with code 1');
  });

  it(`counts ${ROLLBACK_RESTARTS} restarts from restartsAtStart`, () => {
    expect(ROLLBACK_RESTARTS).toBe(3);
    expect(rollbackReason(watching(), actual({ restartCount: 2 }))).toBeNull();
    expect(rollbackReason(watching(), actual({ restartCount: 3 }))).toBe('it restarted 3 times');
    expect(rollbackReason(watching(), actual({ restartCount: 5 }))).toBe('it restarted 5 times');
    expect(rollbackReason(watching({ restartsAtStart: 10 }), actual({ restartCount: 12 }))).toBeNull();
    expect(rollbackReason(watching({ restartsAtStart: 10 }), actual({ restartCount: 13 }))).toBe('it restarted 3 times');
    expect(rollbackReason(watching({ restartsAtStart: undefined }), actual({ restartCount: 3 }))).toBe('it restarted 3 times');
  });

  it('names a failing health check with its streak', () => {
    expect(rollbackReason(watching(), actual({ health: healthOf('unhealthy', 4) }))).toBe('its health check failed 4 times in a row');
  });

  it('names an exit before restarts, and restarts before health', () => {
    const all = exited(exitOf({ exitCode: 7 }), { restartCount: 3 });
    all.health = healthOf('unhealthy', 3);
    expect(rollbackReason(watching(), all)).toBe('it exited with code 7');
    expect(rollbackReason(watching(), actual({ restartCount: 3, health: healthOf('unhealthy', 3) }))).toBe('it restarted 3 times');
  });
});

describe('windowPassed', () => {
  const WINDOW = 300_000;

  it('passes once sinceMs + window is reached, not before', () => {
    expect(windowPassed(watching(), WINDOW, SINCE + WINDOW - 1)).toBe(false);
    expect(windowPassed(watching(), WINDOW, SINCE + WINDOW)).toBe(true);
    expect(windowPassed(watching(), WINDOW, SINCE + WINDOW + 1)).toBe(true);
    expect(windowPassed(watching(), 0, SINCE)).toBe(true);
  });

  it('never passes outside phase watching or without sinceMs', () => {
    const late = SINCE + 10 * WINDOW;
    for (const phase of ['idle', 'updating', 'rolling-back'] as const) expect(windowPassed(watching({ phase }), WINDOW, late)).toBe(false);
    expect(windowPassed(watching({ sinceMs: undefined }), WINDOW, late)).toBe(false);
    expect(windowPassed(watching({ sinceMs: 0 }), WINDOW, late)).toBe(true);
  });
});

describe('updateDecision', () => {
  const idle = (extra: Partial<AutoUpdateState> = {}): AutoUpdateState => ({ phase: 'idle', reference: REF, bad: [], ...extra });

  it('is current when the tag names the pinned digest, update when it names another', () => {
    expect(updateDecision(null, OLD, OLD)).toBe('current');
    expect(updateDecision(idle(), OLD, OLD)).toBe('current');
    expect(updateDecision(null, OLD, NEW)).toBe('update');
    expect(updateDecision(idle(), OLD, NEW)).toBe('update');
  });

  it('is bad when the tag names a digest rolled back before, update for one not marked', () => {
    expect(updateDecision(idle({ bad: [NEW] }), OLD, NEW)).toBe('bad');
    expect(updateDecision(idle({ bad: [NEW] }), OLD, D('c'))).toBe('update');
    // The pinned digest itself is current even if it was marked bad once (moved back by hand).
    expect(updateDecision(idle({ bad: [OLD] }), OLD, OLD)).toBe('current');
  });

  it('is busy while an update, its window or a rollback is under way', () => {
    for (const phase of ['updating', 'watching', 'rolling-back'] as const) {
      expect(updateDecision(watching({ phase }), OLD, D('c'))).toBe('busy');
      expect(updateDecision(watching({ phase }), NEW, NEW)).toBe('busy');
    }
  });
});

describe('a change of autoUpdate alone in a plan', () => {
  it('updates the record in place (no recreate, no restart) when autoUpdate is added, changed or removed', () => {
    const plain = pinnedDesired(OLD);
    const on = pinnedDesired(OLD, { autoUpdate: { intervalMs: 60_000 } });
    const other = pinnedDesired(OLD, { autoUpdate: { intervalMs: 120_000, rollbackWindowMs: 1000 } });
    const live = (d: DesiredContainer): ActualContainer => running(d, desiredLimits(d.spec.resources, PLAN_FACTS));
    for (const [was, now] of [
      [plain, on],
      [on, other],
      [on, plain],
    ] as const) {
      expect(now.hash).not.toBe(was.hash);
      const p = plan(planInput([now], [live(was)]));
      expect(p.problems).toEqual([]);
      expect(p.actions.map((a) => [a.name, a.kind])).toEqual([['web', 'update']]);
      expect(p.actions[0]).toMatchObject({ changed: [], reason: 'spec changed in fields that need no restart' });
    }
  });
});
