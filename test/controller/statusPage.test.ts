import { describe, expect, it } from 'vitest';
import { renderStatusPage } from '../../reconciler/controller/statusPage.js';
import { runningView, snapshotOf } from '../helpers/snapshots.js';

describe('the status page', () => {
  it('lists each container with its state, restarts, health and a bar per limit; marks an OOM kill', () => {
    const oom = runningView(
      'hog',
      { restart: 'never' },
      {
        initAlive: false,
        exit: { exitCode: 137, signal: 0, oomKilled: true, oomKillCount: 1, startedAtMs: 1, finishedAtMs: 2 },
      },
    );
    const html = renderStatusPage(
      snapshotOf([runningView('web', { healthcheck: { tcp: { port: 80 } } }, { health: { status: 'healthy' } as never }), oom], {
        sources: [{ dir: '/specs', lastAttempt: null, lastApplied: { revision: 'abc123', atMs: 0 }, failedFiles: [] }],
        events: [{ time: '2026-12-01T10:00:00.000Z', type: 'oom', name: 'hog' }],
      }),
      { refreshSeconds: 0 },
    );
    expect(html).toMatch(/<tr data-name="web" data-state="running">/);
    expect(html).toMatch(/<tr data-name="hog" data-state="exited">.*data-oom="true">OOM-killed</s);
    expect(html).toMatch(/memory 40\.0 MiB \/ 64\.0 MiB.*width:62\.5%/s);
    expect(html).toMatch(/class="health healthy">healthy/);
    expect(html).toContain('abc123');
    expect(html).toMatch(/<span class="event oom">oom<\/span><\/td><td>hog/);
    expect(html).not.toMatch(/<script|http-equiv="refresh"/);
  });

  it('CPU since the last look is a bar against the cpus limit; without a previous look, the limit and the time used', () => {
    const spinning = { ...runningView('spin'), cpuPercent: 45 };
    const html = renderStatusPage(snapshotOf([spinning, runningView('idle')]), { refreshSeconds: 0 });
    expect(html).toMatch(/CPU 0\.45 CPU \/ 0\.50 CPU.*width:90\.0%/s);
    expect(html).toMatch(/CPU limit 0\.50, 12\.5 s used/);
  });

  it('escapes what specs and events say, and refreshes only when asked', () => {
    const html = renderStatusPage(
      snapshotOf([], {
        dir: '/specs/<b>',
        events: [{ time: 't', type: 'apply-failed', name: 'x', error: '<img src=x onerror=alert(1)>' }],
      }),
      { refreshSeconds: 5 },
    );
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('/specs/&lt;b&gt;');
    expect(html).toContain('<meta http-equiv="refresh" content="5">');
  });
});
