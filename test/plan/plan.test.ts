import { describe, expect, it } from 'vitest';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import { plan } from '../../reconciler/plan/plan.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { desired, planInput, PLAN_FACTS, recordOf, running, specObj } from '../helpers/specs.js';

const FACTS = PLAN_FACTS;
const input = planInput;
const kinds = (p: ReturnType<typeof plan>): Array<[string, string]> => p.actions.map((a) => [a.name, a.kind]);
const live = (d: DesiredContainer, extra: Partial<ActualContainer> = {}): ActualContainer =>
  running(d, desiredLimits(d.spec.resources, FACTS), extra);

describe('plan', () => {
  it('creates what is missing and leaves what matches', () => {
    const a = desired(specObj('a'));
    const b = desired(specObj('b'));
    const p = plan(input([a, b], [live(b)]));
    expect(kinds(p)).toEqual([
      ['a', 'create'],
      ['b', 'none'],
    ]);
    expect(p.actions[1]!.reason).toBe('up to date');
  });

  it('updates resources in place, naming old and new values', () => {
    const was = desired(specObj('a', { resources: { memory: '64Mi', memsw: '96Mi' } }));
    const now = desired(specObj('a', { resources: { memory: '128Mi', memsw: '192Mi' } }));
    const p = plan(input([now], [live(was)]));
    expect(kinds(p)).toEqual([['a', 'update']]);
    expect(p.actions[0]!.reason).toBe('resources: memory 64Mi -> 128Mi, memsw 96Mi -> 192Mi');
  });

  it('recreates when something the process saw changed, listing the fields', () => {
    const was = desired(specObj('a'));
    const now = desired(specObj('a', { command: ['sleep', '7'], env: { X: '1' } }));
    const p = plan(input([now], [live(was)]));
    expect(kinds(p)).toEqual([['a', 'recreate']]);
    expect(p.actions[0]!.reason).toBe('changed: command, env; discards the writable layer');
  });

  it('updates only the record when fields that need no restart change', () => {
    const was = desired(specObj('a'));
    const now = desired(specObj('a', { restart: 'never', stopGracePeriod: '1s' }));
    const p = plan(input([now], [live(was)]));
    expect(kinds(p)).toEqual([['a', 'update']]);
    expect(p.actions[0]).toMatchObject({ changed: [] });
  });

  it('follows a spec moved to another file without restarting it', () => {
    const was = desired(specObj('a'), '/specs', 'old.yaml');
    const now = desired(specObj('a'), '/specs', 'new.yaml');
    expect(kinds(plan(input([now], [live(was)])))).toEqual([['a', 'update']]);
  });

  it('converges cgroup values changed behind its back', () => {
    const d = desired(specObj('a', { resources: { pids: 10 } }));
    const limits = { ...desiredLimits(d.spec.resources, FACTS), pids: 99 as const };
    expect(kinds(plan(input([d], [running(d, limits)])))).toEqual([['a', 'update']]);
  });

  it('restarts exited containers per restart policy', () => {
    const exit = (code: number) => ({ exitCode: code, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 });
    const dead = (d: DesiredContainer, code: number | null): ActualContainer =>
      live(d, { initAlive: false, monitorAlive: false, exit: code === null ? null : exit(code) });
    const always = desired(specObj('a'));
    const onFail = desired(specObj('b', { restart: 'on-failure' }));
    const onFailOk = desired(specObj('c', { restart: 'on-failure' }));
    const never = desired(specObj('d', { restart: 'never' }));
    const lost = desired(specObj('e', { restart: 'on-failure' }));
    const p = plan(
      input(
        [always, onFail, onFailOk, never, lost],
        [dead(always, 0), dead(onFail, 1), dead(onFailOk, 0), dead(never, 3), dead(lost, null)],
      ),
    );
    expect(kinds(p)).toEqual([
      ['a', 'restart'],
      ['b', 'restart'],
      ['c', 'none'],
      ['d', 'none'],
      ['e', 'restart'],
    ]);
    expect(p.actions[3]!.reason).toBe('exited with code 3; restart: never');
  });

  it('waits for the exit record while the monitor of a dead init still lives, instead of restarting without backoff', () => {
    const d = desired(specObj('a', { restart: 'on-failure' }));
    const p = plan(input([d], [live(d, { initAlive: false, monitorAlive: true, exit: null })]));
    expect(p.actions).toEqual([
      expect.objectContaining({
        kind: 'none',
        name: 'a',
        reason: 'exiting: its monitor is recording the exit',
        retryAt: expect.any(Number),
      }),
    ]);
  });

  it('removes containers whose spec is gone, but only its own', () => {
    const mine = desired(specObj('a'));
    const other = desired(specObj('b'), '/elsewhere');
    const p = plan(
      input([], [live(mine), live(other)], { load: { status: 'ok', files: ['x.yaml'], desired: [], failedFiles: new Set() } }),
    );
    expect(kinds(p)).toEqual([['a', 'remove']]);
  });

  it('keeps the containers of a file that fails to load', () => {
    const d = desired(specObj('a'));
    const p = plan(input([], [live(d)], { load: { status: 'ok', files: ['a.yaml'], desired: [], failedFiles: new Set(['a.yaml']) } }));
    expect(kinds(p)).toEqual([['a', 'none']]);
    expect(p.actions[0]!.reason).toMatch(/has errors; keeping/);
  });

  it('removes nothing from an empty dir without allowEmpty, nor from a missing one', () => {
    const d = desired(specObj('a'));
    const empty = { status: 'ok' as const, files: [], desired: [], failedFiles: new Set<string>() };
    const p = plan(input([], [live(d)], { load: empty }));
    expect(kinds(p)).toEqual([['a', 'none']]);
    expect(p.problems).toEqual([expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/--allow-empty/) })]);
    expect(kinds(plan(input([], [live(d)], { load: empty, allowEmpty: true })))).toEqual([['a', 'remove']]);
    const missing = plan(input([], [live(d)], { load: { ...empty, status: 'missing', statusError: 'gone' }, allowEmpty: true }));
    expect(kinds(missing)).toEqual([['a', 'none']]);
    expect(missing.problems[0]!.severity).toBe('error');
  });

  it('refuses to take over a container of another source', () => {
    const mine = desired(specObj('a'), '/specs');
    const theirs = desired(specObj('a'), '/elsewhere');
    const p = plan(input([mine], [live(theirs)]));
    expect(p.actions).toEqual([]);
    expect(p.problems[0]).toMatchObject({
      name: 'a',
      severity: 'error',
      message: expect.stringMatching(/belongs to \/elsewhere\/a\.yaml/),
    });
  });

  it('replaces a half-created container, and starts one with an unreadable record again on its writable layer', () => {
    const d = desired(specObj('a'));
    const half = live(d, { initAlive: false, record: recordOf(d, { phase: 'creating' }) });
    expect(plan(input([d], [half])).actions[0]).toMatchObject({ kind: 'recreate', reason: 'left half-created by an interrupted pass' });
    const corrupt = live(d, { record: null, recordProblem: 'not valid JSON' });
    expect(plan(input([d], [corrupt])).actions[0]).toMatchObject({
      kind: 'restart',
      reason: expect.stringMatching(/not valid JSON.*on its writable layer/),
    });
  });

  it('finishes an interrupted removal by recreating, says which recreates discard the layer, and restarts what a reboot stopped', () => {
    const d = desired(specObj('a'));
    const removing = live(d, { record: recordOf(d, { phase: 'removing' }) });
    expect(plan(input([d], [removing])).actions[0]).toMatchObject({
      kind: 'recreate',
      reason: 'left half-removed by an interrupted pass; discards the writable layer',
    });
    const rebooted = live(d, { initAlive: false, monitorAlive: false, pids: null, rebooted: true, record: recordOf(d) });
    const never = desired(specObj('a', { restart: 'never' }));
    expect(plan(input([never], [{ ...rebooted, record: recordOf(never) }])).actions[0]).toMatchObject({
      kind: 'restart',
      reason: expect.stringMatching(/running when the host went down/),
    });
    const exitedBefore = {
      ...rebooted,
      record: recordOf(never),
      exit: { exitCode: 0, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 },
    };
    expect(plan(input([never], [exitedBefore])).actions[0]).toMatchObject({
      kind: 'none',
      reason: 'completed (exited with code 0; restart: never)',
    });
  });

  it('adopts processes whose pids record was lost, and moves a release-1 record, in place', () => {
    const d = desired(specObj('a'));
    expect(plan(input([d], [live(d, { pidsRecovered: true })])).actions[0]).toMatchObject({
      kind: 'update',
      reason: expect.stringMatching(/^adopting it: its processes run/),
    });
    expect(plan(input([d], [live(d, { legacy: true })])).actions[0]).toMatchObject({
      kind: 'update',
      reason: expect.stringMatching(/moving its record to the data dir/),
    });
    const unknown = live(d, { pids: null, initAlive: false, unidentified: [123] });
    const p = plan(input([d], [unknown]));
    expect(p.actions).toEqual([]);
    expect(p.problems).toEqual([
      expect.objectContaining({ severity: 'warning', message: expect.stringMatching(/none of them is its init: left alone/) }),
    ]);
    const foreign = live(d, { foreign: { stateDir: '/other', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' } });
    expect(plan(input([], [foreign])).actions).toEqual([]);
  });

  it('adopts a container whose creation finished after the controller died', () => {
    const d = desired(specObj('a'));
    const half = live(d, { record: recordOf(d, { phase: 'creating' }) });
    expect(plan(input([d], [half])).actions).toEqual([
      expect.objectContaining({ kind: 'update', changed: [], reason: expect.stringMatching(/^adopting it/) }),
    ]);
  });

  it('is deterministic and sorted by name', () => {
    const ds = ['c', 'a', 'b'].map((n) => desired(specObj(n)));
    const p1 = plan(input(ds, []));
    const p2 = plan(input([...ds].reverse(), []));
    expect(kinds(p1)).toEqual([
      ['a', 'create'],
      ['b', 'create'],
      ['c', 'create'],
    ]);
    expect(JSON.stringify(p1)).toBe(JSON.stringify(p2));
  });
  it('state stopped: stops what runs, keeps a stopped one, does not create; running again restarts it at once', () => {
    const exit = { exitCode: 143, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 };
    const runningSpec = desired(specObj('a', { restart: 'never' }));
    const stoppedSpec = desired(specObj('a', { restart: 'never', state: 'stopped' }));
    expect(kinds(plan(input([stoppedSpec], [live(runningSpec)])))).toEqual([['a', 'stop']]);
    const stopped = live(runningSpec, {
      initAlive: false,
      monitorAlive: false,
      exit,
      record: { ...recordOf(runningSpec), stoppedAtMs: 5 },
    });
    const keep = plan(input([stoppedSpec], [stopped]));
    expect(keep.actions[0]).toMatchObject({ kind: 'none', reason: 'stopped (state: stopped)' });
    const crashed = live(runningSpec, { initAlive: false, monitorAlive: false, exit });
    expect(kinds(plan(input([stoppedSpec], [crashed])))).toEqual([['a', 'stop']]);
    expect(plan(input([desired(specObj('n', { state: 'stopped' }))], [])).actions[0]).toMatchObject({
      kind: 'none',
      reason: 'state: stopped; not created',
    });
    const again = plan(input([runningSpec], [stopped]));
    expect(again.actions[0]).toMatchObject({ kind: 'restart', backoffStep: 0, reason: 'state: running (was stopped)' });
    const changed = desired(specObj('a', { restart: 'never', command: ['sleep', '1'] }));
    expect(kinds(plan(input([changed], [stopped])))).toEqual([['a', 'recreate']]);
    const changedWhileStopped = desired(specObj('a', { restart: 'never', state: 'stopped', command: ['sleep', '1'] }));
    expect(kinds(plan(input([changedWhileStopped], [stopped])))).toEqual([['a', 'none']]);
  });

  it('leaves containers of pocker run alone and names them when a spec wants the same name', () => {
    const adhoc = desired(specObj('x'), '');
    const p = plan(input([], [live(adhoc)], { allowEmpty: true }));
    expect(p.actions).toEqual([]);
    const clash = plan(input([desired(specObj('x'))], [live(adhoc)]));
    expect(clash.problems[0]!.message).toMatch(/"x" was started by pocker run/);
  });
});
