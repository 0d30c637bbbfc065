import { describe, expect, it } from 'vitest';
import { actionEvent, EventHub, reportExit, specErrorEvents } from '../../reconciler/controller/events.js';
import { RecordedEvents } from '../../reconciler/state/events.js';
import type { UpdateAction } from '../../reconciler/plan/types.js';
import { specLimits } from '../../reconciler/plan/plan.js';
import { FakeHost } from '../helpers/fakeHost.js';
import { desired, PLAN_FACTS, running, specObj } from '../helpers/specs.js';

const dirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

describe('events of the controller', () => {
  const d = desired(specObj('web'));
  const limits = specLimits(d, PLAN_FACTS);

  it('an action gives its kind (remove: removed) with the reason; an update names what changed; a failure is apply-failed', () => {
    const update: UpdateAction = {
      kind: 'update',
      name: 'web',
      reason: 'memory changed',
      desired: d,
      actual: running(d, limits),
      limits,
      changed: ['memory'],
      files: { changes: [{ kind: 'file', target: '/etc/app.conf', onChange: 'none' }], signals: [] },
    };
    const ok = { name: 'web', kind: 'update' as const, reason: 'memory changed', ok: true, durationMs: 3.2 };
    expect(actionEvent('/specs', update, ok)).toEqual({
      type: 'update',
      name: 'web',
      source: '/specs',
      reason: 'memory changed',
      durationMs: 3,
      fields: ['memory', 'file:/etc/app.conf'],
    });
    const remove = { kind: 'remove' as const, name: 'web', reason: 'spec gone', actual: running(d, limits) };
    expect(actionEvent('/specs', remove as never, { ...ok, kind: 'remove', reason: 'spec gone' })).toMatchObject({ type: 'removed' });
    expect(
      actionEvent('/specs', update, { ...ok, ok: false, errorCode: 'CGROUP_WRITE', error: 'memory.max: EBUSY', terminal: false }),
    ).toMatchObject({ type: 'apply-failed', action: 'update', code: 'CGROUP_WRITE', error: 'memory.max: EBUSY' });
    expect(actionEvent('/specs', { kind: 'none', name: 'web', reason: 'up to date' }, ok)).toBeNull();
  });

  it('each exit is reported once (an oom exit twice: exit and oom), whichever pass sees it first', () => {
    const host = new FakeHost('v1');
    host.mkdir('/var/lib/pocker/containers/web');
    const events = new RecordedEvents();
    const exited = running(d, limits, {
      initAlive: false,
      exit: { exitCode: 137, signal: 0, oomKilled: true, oomKillCount: 1, startedAtMs: 1000, finishedAtMs: 5000 },
    });
    reportExit(host, dirs, exited, events);
    reportExit(host, dirs, exited, events);
    expect(events.types()).toEqual(['exit', 'oom']);
    expect(events.events[0]).toMatchObject({
      name: 'web',
      source: '/specs',
      exitCode: 137,
      ranMs: 4000,
      time: new Date(5000).toISOString(),
    });
    reportExit(host, dirs, { ...exited, exit: { ...exited.exit!, oomKilled: false, startedAtMs: 6000, finishedAtMs: 7000 } }, events);
    expect(events.types()).toEqual(['exit', 'oom', 'exit']);
    reportExit(host, dirs, running(d, limits), events);
    expect(events.types()).toHaveLength(3);
  });

  it('spec errors are told when they appear, not again while they stay', () => {
    const seen = new Set<string>();
    const err = { file: '/specs/a.yaml', line: 3, col: 1, message: 'bad' };
    expect(specErrorEvents('/specs', [err], seen)).toHaveLength(1);
    expect(specErrorEvents('/specs', [err], seen)).toHaveLength(0);
    expect(specErrorEvents('/specs', [], seen)).toHaveLength(0);
    expect(specErrorEvents('/specs', [err], seen)[0]).toMatchObject({ type: 'spec-invalid', file: '/specs/a.yaml', line: 3 });
  });

  it('the hub gives every sink the event even when one throws, and keeps the last ones', () => {
    const a = new RecordedEvents();
    const hub = new EventHub(
      [
        {
          emit: () => {
            throw new Error('full');
          },
        },
        a,
      ],
      2,
    );
    for (const name of ['x', 'y', 'z']) hub.emit({ type: 'create', name });
    expect(a.types()).toEqual(['create', 'create', 'create']);
    expect(hub.recent().map((e) => e.name)).toEqual(['y', 'z']);
  });
});
