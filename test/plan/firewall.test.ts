import { describe, expect, it } from 'vitest';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import { plan } from '../../reconciler/plan/plan.js';
import type { FirewallView, UpdateAction } from '../../reconciler/plan/types.js';
import { resolveContents, type ContentReader } from '../../reconciler/spec/contents.js';
import type { DesiredContainer } from '../../reconciler/spec/types.js';
import { desired, planInput, PLAN_FACTS, running, specObj } from '../helpers/specs.js';

const live = (d: DesiredContainer, extra: Partial<ActualContainer> = {}): ActualContainer =>
  running(d, desiredLimits(d.spec.resources, PLAN_FACTS), extra);
const kinds = (p: ReturnType<typeof plan>): Array<[string, string]> => p.actions.map((a) => [a.name, a.kind]);
const bridgeSpec = (name: string, network: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) =>
  desired(specObj(name, { network: { mode: 'bridge', ...network }, ...extra }));

const SCRIPT =
  'table inet pocker {}\ndelete table inet pocker\ntable inet pocker {\n  chain ingress {\n    type filter hook input priority filter; policy drop;\n' +
  '    ct state established,related accept\n    iif "lo" accept\n    ip saddr { 10.77.0.3/32 } accept comment "b"\n  }\n}\n';
const DIFF = 'firewall rules: +chain ingress {; +ip saddr { 10.77.0.3/32 } accept comment "b"';
const views = (entries: Record<string, FirewallView>): Map<string, FirewallView> => new Map(Object.entries(entries));

describe('plan with firewall views', () => {
  it('updates a running container whose table differs, carrying the script, with the diff as the reason', () => {
    const d = bridgeSpec('a');
    const p = plan(planInput([d], [live(d)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(kinds(p)).toEqual([['a', 'update']]);
    const u = p.actions[0] as UpdateAction;
    expect(u).toMatchObject({ kind: 'update', name: 'a', reason: DIFF, firewall: SCRIPT, changed: [] });
    expect(u.files).toBeUndefined();
  });

  it('names drift the same way: the view diff is the reason', () => {
    const d = bridgeSpec('a');
    const drift = 'firewall table edited inside the container namespace: restoring it';
    const p = plan(planInput([d], [live(d)], { firewalls: views({ a: { script: SCRIPT, diff: drift } }) }));
    expect(p.actions).toEqual([expect.objectContaining({ kind: 'update', reason: drift, firewall: SCRIPT })]);
  });

  it('leaves a container whose table is as it should be up to date', () => {
    const d = bridgeSpec('a');
    const p = plan(planInput([d], [live(d)], { firewalls: views({ a: { script: SCRIPT, diff: '' } }) }));
    expect(p.actions).toEqual([{ kind: 'none', name: 'a', reason: 'up to date' }]);
  });

  it('without a view (or without the firewalls input) plans as before', () => {
    const d = bridgeSpec('a');
    expect(plan(planInput([d], [live(d)])).actions).toEqual([{ kind: 'none', name: 'a', reason: 'up to date' }]);
    expect(plan(planInput([d], [live(d)], { firewalls: views({ other: { script: SCRIPT, diff: DIFF } }) })).actions).toEqual([
      { kind: 'none', name: 'a', reason: 'up to date' },
    ]);
  });

  it('uses only the view of each container: one update for the one that differs', () => {
    const a = bridgeSpec('a');
    const b = bridgeSpec('b');
    const c = bridgeSpec('c');
    const p = plan(
      planInput([a, b, c], [live(a), live(b), live(c)], {
        firewalls: views({ a: { script: SCRIPT, diff: '' }, b: { script: SCRIPT, diff: DIFF } }),
      }),
    );
    expect(kinds(p)).toEqual([
      ['a', 'none'],
      ['b', 'update'],
      ['c', 'none'],
    ]);
    expect((p.actions[1] as UpdateAction).firewall).toBe(SCRIPT);
    expect('firewall' in p.actions[0]!).toBe(false);
  });

  it('combines a resources change and a firewall change into one update carrying both', () => {
    const was = bridgeSpec('a', {}, { resources: { memory: '64Mi', memsw: '96Mi' } });
    const now = bridgeSpec('a', {}, { resources: { memory: '128Mi', memsw: '192Mi' } });
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(kinds(p)).toEqual([['a', 'update']]);
    const u = p.actions[0] as UpdateAction;
    expect(u.reason).toBe(`resources: memory 64Mi -> 128Mi, memsw 96Mi -> 192Mi; ${DIFF}`);
    expect(u.firewall).toBe(SCRIPT);
    expect([...u.changed].sort()).toEqual(['memory', 'memsw']);
    expect(u.limits).toEqual(desiredLimits(now.spec.resources, PLAN_FACTS));
  });

  it('a resources change alone carries no script', () => {
    const was = bridgeSpec('a', {}, { resources: { memory: '64Mi', memsw: '96Mi' } });
    const now = bridgeSpec('a', {}, { resources: { memory: '128Mi', memsw: '192Mi' } });
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: '' } }) }));
    expect(p.actions[0]).toMatchObject({ kind: 'update', reason: 'resources: memory 64Mi -> 128Mi, memsw 96Mi -> 192Mi' });
    expect('firewall' in p.actions[0]!).toBe(false);
  });

  it('combines a file rewritten in place and a firewall change into one update carrying both', () => {
    const none: ContentReader = {
      readSource: () => ({ error: 'ENOENT' }),
      readSecret: () => ({ error: 'ENOENT' }),
      secretDigest: (d) => `hmac-sha256:${d.length}`,
    };
    const withFile = (content: string) =>
      resolveContents(bridgeSpec('a', {}, { files: [{ target: '/etc/a.conf', content, onChange: 'signal:HUP' }] }), none);
    const was = withFile('v1');
    const now = withFile('v2');
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(kinds(p)).toEqual([['a', 'update']]);
    const u = p.actions[0] as UpdateAction;
    expect(u.reason).toBe(`files changed: /etc/a.conf (onChange: signal:SIGHUP); rewritten in place, then SIGHUP; ${DIFF}`);
    expect(u.firewall).toBe(SCRIPT);
    expect(u.files).toEqual({ changes: [expect.objectContaining({ target: '/etc/a.conf' })], signals: ['SIGHUP'] });
  });

  it('a firewall change beside a change that needs no restart gives the firewall diff as the reason', () => {
    const was = bridgeSpec('a');
    const now = bridgeSpec('a', {}, { restart: 'on-failure' });
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(p.actions).toEqual([expect.objectContaining({ kind: 'update', reason: DIFF, firewall: SCRIPT, changed: [] })]);
  });

  it('changing only the rules updates in place (never recreates), carrying the new script', () => {
    const was = bridgeSpec('a', { ingress: [{ from: 'b' }] });
    const now = bridgeSpec('a', { ingress: [{ from: 'c', ports: [80] }] });
    expect(now.hash).not.toBe(was.hash);
    const diff =
      'firewall rules: -ip saddr { 10.77.0.3/32 } accept comment "b"; +ip saddr { 10.77.0.4/32 } tcp dport { 80 } accept comment "c"';
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff } }) }));
    expect(p.actions).toEqual([expect.objectContaining({ kind: 'update', name: 'a', reason: diff, firewall: SCRIPT, changed: [] })]);
    // Adding the first rule, and removing the last one, are updates as well.
    const none = bridgeSpec('a');
    expect(kinds(plan(planInput([was], [live(none)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) })))).toEqual([
      ['a', 'update'],
    ]);
    expect(kinds(plan(planInput([none], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) })))).toEqual([
      ['a', 'update'],
    ]);
  });

  it('a recreate wins over a firewall view (the new start sets the table) and carries no script', () => {
    const was = bridgeSpec('a');
    const now = bridgeSpec('a', {}, { command: ['sleep', '7'] });
    const p = plan(planInput([now], [live(was)], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(kinds(p)).toEqual([['a', 'recreate']]);
    expect(p.actions[0]!.reason).toBe('changed: command; discards the writable layer');
    expect('firewall' in p.actions[0]!).toBe(false);
  });

  it('an exited container is restarted (its start sets the table), whatever the view says', () => {
    const d = bridgeSpec('a');
    const exit = { exitCode: 1, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 };
    const p = plan(
      planInput([d], [live(d, { initAlive: false, monitorAlive: false, exit })], {
        firewalls: views({ a: { script: SCRIPT, diff: DIFF } }),
      }),
    );
    expect(kinds(p)).toEqual([['a', 'restart']]);
    expect('firewall' in p.actions[0]!).toBe(false);
  });

  it('a container to create needs no view', () => {
    const d = bridgeSpec('a');
    const p = plan(planInput([d], [], { firewalls: views({ a: { script: SCRIPT, diff: DIFF } }) }));
    expect(kinds(p)).toEqual([['a', 'create']]);
    expect('firewall' in p.actions[0]!).toBe(false);
  });
});
