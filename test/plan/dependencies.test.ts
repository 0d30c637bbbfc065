import { describe, expect, it } from 'vitest';
import type { ActualContainer, ActualSet } from '../../reconciler/observe/types.js';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import { plan } from '../../reconciler/plan/plan.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { convergence } from '../../reconciler/controller/convergence.js';
import { desired, planInput, PLAN_FACTS, PLAN_NOW, running, specObj } from '../helpers/specs.js';

const FACTS = PLAN_FACTS;
const NOW = PLAN_NOW;
const input = planInput;
const live = (d: DesiredContainer, extra: Partial<ActualContainer> = {}): ActualContainer =>
  running(d, desiredLimits(d.spec.resources, FACTS), extra);
const exit = (code: number) => ({ exitCode: code, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 });
const exited = (d: DesiredContainer, code: number): ActualContainer => live(d, { initAlive: false, monitorAlive: false, exit: exit(code) });
const healthy = (a: ActualContainer, status: 'healthy' | 'starting' | 'unhealthy' = 'healthy'): ActualContainer => ({
  ...a,
  health: { status, failingStreak: 0, initPid: a.pids!.initPid, lastCheckAtMs: 1, lastExitCode: 0, lastOutput: '' },
});
const action = (p: ReturnType<typeof plan>, name: string) => p.actions.find((a) => a.name === name)!;

const db = desired(specObj('db', { healthcheck: { tcp: { port: 6379 } } }));
const job = desired(specObj('job', { restart: 'never', dependsOn: [{ name: 'db', condition: 'healthy' }] }));
const web = desired(specObj('web', { dependsOn: [{ name: 'job', condition: 'completed' }] }));

describe('dependencies in the plan', () => {
  it('holds a dependent back until its dependency meets the condition, saying why', () => {
    expect(action(plan(input([db, job, web], [])), 'job')).toMatchObject({
      kind: 'none',
      reason: 'waiting: db not created',
      retryAt: NOW + 2000,
    });
    expect(action(plan(input([db, job], [live(db)])), 'job').reason).toBe('waiting: db not healthy (starting)');
    expect(action(plan(input([db, job], [healthy(live(db), 'unhealthy')])), 'job').reason).toBe('waiting: db not healthy (unhealthy)');
    expect(action(plan(input([db, job], [healthy(live(db))])), 'job').kind).toBe('create');
    expect(action(plan(input([job, web], [live(job)])), 'web').reason).toBe('waiting: job not completed (running)');
    expect(action(plan(input([job, web], [exited(job, 3)])), 'web').reason).toBe('waiting: job not completed (it failed: exit 3)');
    expect(action(plan(input([job, web], [exited(job, 0)])), 'web').kind).toBe('create');
    const started = desired(specObj('s', { dependsOn: [{ name: 'web' }] }));
    expect(action(plan(input([web, started], [live(web)])), 's').kind).toBe('create');
  });

  it('treats a job that exited 0 as completed: converged, never run again, shown so', () => {
    const p = plan(input([job], [exited(job, 0)]));
    expect(action(p, 'job')).toMatchObject({ kind: 'none', reason: 'completed (exited with code 0; restart: never)' });
    const onFailure = desired(specObj('j', { restart: 'on-failure' }));
    expect(action(plan(input([onFailure], [exited(onFailure, 0)])), 'j').kind).toBe('none');
    const always = desired(specObj('a', { restart: 'always' }));
    expect(action(plan(input([always], [exited(always, 0)])), 'a').kind).toBe('restart');
  });

  it('records the run of each dependency a start follows, and restarts a restartWith dependent when it is recreated', () => {
    const dep = desired(specObj('web', { dependsOn: [{ name: 'db', restartWith: true }] }));
    const dbNow = live(db);
    const start = action(plan(input([db, dep], [dbNow])), 'web');
    expect(start).toMatchObject({ kind: 'create', dependencyRuns: { db: dbNow.record!.createdAtMs } });
    const webLive = live(dep);
    webLive.record = { ...webLive.record!, dependencyRuns: { db: dbNow.record!.createdAtMs } };
    expect(action(plan(input([db, dep], [dbNow, webLive])), 'web').kind).toBe('none');
    const dbRecreated = { ...dbNow, record: { ...dbNow.record!, createdAtMs: dbNow.record!.createdAtMs + 1 } };
    expect(action(plan(input([db, dep], [dbRecreated, webLive])), 'web')).toMatchObject({
      kind: 'restart',
      reason: 'db recreated (restartWith)',
    });
    const plain = desired(specObj('web', { dependsOn: [{ name: 'db' }] }));
    expect(action(plan(input([db, plain], [dbRecreated, webLive])), 'web').kind).not.toBe('restart');
  });

  it('says where a dir stands for --wait: done, pending with why, failed for good', () => {
    const load = { desired: [db, job, web] };
    const set = (...a: ActualContainer[]): ActualSet => ({ containers: new Map(a.map((x) => [x.name, x])), leftovers: [], strangers: [] });
    expect(convergence(load, set(healthy(live(db)), exited(job, 0), live(web)))).toEqual({ done: true, failed: [], pending: [] });
    expect(convergence(load, set(live(db), live(job)))).toEqual({
      done: false,
      failed: [],
      pending: ['db: starting', 'job: running (a job: it completes when it exits 0)', 'web: not created'],
    });
    expect(convergence(load, set(healthy(live(db)), exited(job, 1))).failed).toEqual(['job: exited with code 1']);
    // Nothing waits for it to complete: a running restart-never service is there, as with compose's --wait.
    const service = desired(specObj('svc', { restart: 'never' }));
    expect(convergence({ desired: [service] }, set(live(service)))).toEqual({ done: true, failed: [], pending: [] });
    expect(convergence({ desired: [service] }, set(exited(service, 0)))).toEqual({ done: true, failed: [], pending: [] });
    expect(convergence({ desired: [service] }, set(exited(service, 2))).failed).toEqual(['svc: exited with code 2']);
  });
});
