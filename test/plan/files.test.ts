import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { ActualContainer } from '../../reconciler/observe/types.js';
import { desiredLimits } from '../../reconciler/limits/limits.js';
import { describeFileChanges, diffFiles, fileChangeEffect, type FileChange } from '../../reconciler/plan/files.js';
import { plan } from '../../reconciler/plan/plan.js';
import type { UpdateAction } from '../../reconciler/plan/types.js';
import { resolveContents, type ContentReader } from '../../reconciler/spec/contents.js';
import type { ContainerFile, ContainerSecret, DesiredContainer } from '../../reconciler/spec/types.js';
import { desired, planInput, PLAN_FACTS, running, specObj } from '../helpers/specs.js';

const live = (d: DesiredContainer, extra: Partial<ActualContainer> = {}): ActualContainer =>
  running(d, desiredLimits(d.spec.resources, PLAN_FACTS), extra);

/** A reader of fixed sources (by path) and secrets (by name). */
function reader(sources: Record<string, string> = {}, secrets: Record<string, string> = {}): ContentReader {
  return {
    readSource: (p) => (sources[p] !== undefined ? { data: Buffer.from(sources[p]!) } : { error: 'ENOENT' }),
    readSecret: (n) => (secrets[n] !== undefined ? { data: Buffer.from(secrets[n]!) } : { error: 'ENOENT' }),
    secretDigest: (d) => `hmac-sha256:${createHash('sha256').update('k').update(d).digest('hex')}`,
  };
}

/** A desired container of spec dir /specs with these files and secrets, its contents read by r. */
function withFiles(
  files: unknown[],
  secrets: unknown[] = [],
  r: ContentReader = reader(),
  extra: Record<string, unknown> = {},
): DesiredContainer {
  return resolveContents(desired(specObj('a', { ...(files.length && { files }), ...(secrets.length && { secrets }), ...extra })), r);
}

const one = (d: DesiredContainer, a: ActualContainer) => {
  const p = plan(planInput([d], [a]));
  expect(p.problems).toEqual([]);
  expect(p.actions).toHaveLength(1);
  return p.actions[0]!;
};

const file = (target: string, digest: string, extra: Partial<ContainerFile> = {}): ContainerFile => ({
  target,
  mode: 0o644,
  uid: 0,
  gid: 0,
  onChange: 'restart',
  digest,
  ...extra,
});
const secret = (name: string, digest: string, extra: Partial<ContainerSecret> = {}): ContainerSecret => ({
  name,
  target: `/run/secrets/${name}`,
  mode: 0o400,
  uid: 0,
  gid: 0,
  onChange: 'restart',
  digest,
  ...extra,
});

describe('diffFiles', () => {
  it('finds nothing between equal sets', () => {
    const s = { files: [file('/a', 'sha256:1')], secrets: [secret('s', 'hmac-sha256:1')] };
    expect(diffFiles(s, structuredClone(s))).toEqual({ layoutChanged: [], changed: [], recordOnly: false });
    expect(diffFiles({ files: [], secrets: [] }, { files: [], secrets: [] })).toEqual({
      layoutChanged: [],
      changed: [],
      recordOnly: false,
    });
  });

  it('finds a changed digest, mode, uid or gid, with the desired onChange', () => {
    const was = { files: [file('/a', 'sha256:1'), file('/b', 'sha256:2')], secrets: [secret('s', 'hmac-sha256:1')] };
    const cases: Array<[Partial<ContainerFile>, string]> = [
      [{ digest: 'sha256:9' }, 'digest'],
      [{ mode: 0o600 }, 'mode'],
      [{ uid: 1 }, 'uid'],
      [{ gid: 1 }, 'gid'],
    ];
    for (const [change] of cases) {
      const now = { ...was, files: [file('/a', 'sha256:1', { ...change, onChange: 'signal:SIGHUP' }), file('/b', 'sha256:2')] };
      expect(diffFiles(was, now)).toEqual({
        layoutChanged: [],
        changed: [{ kind: 'file', target: '/a', onChange: 'signal:SIGHUP' }],
        recordOnly: false,
      });
    }
    const now = { ...was, secrets: [secret('s', 'hmac-sha256:2', { onChange: 'none' })] };
    expect(diffFiles(was, now).changed).toEqual([{ kind: 'secret', target: '/run/secrets/s', onChange: 'none' }]);
  });

  it('never counts an unknown desired digest (empty) as a change', () => {
    const was = { files: [file('/a', 'sha256:1')], secrets: [secret('s', 'hmac-sha256:1')] };
    const now = { files: [file('/a', '')], secrets: [secret('s', '')] };
    expect(diffFiles(was, now)).toEqual({ layoutChanged: [], changed: [], recordOnly: false });
  });

  it('counts a known digest over an unknown recorded one as a change', () => {
    const was = { files: [file('/a', '')], secrets: [] };
    expect(diffFiles(was, { files: [file('/a', 'sha256:1')], secrets: [] }).changed).toEqual([
      { kind: 'file', target: '/a', onChange: 'restart' },
    ]);
  });

  it('names files or secrets whose set of targets changed, and nothing else then', () => {
    const was = { files: [file('/a', 'sha256:1')], secrets: [secret('s', 'hmac-sha256:1')] };
    expect(diffFiles(was, { ...was, files: [file('/a', 'sha256:2'), file('/b', 'sha256:1')] })).toEqual({
      layoutChanged: ['files'],
      changed: [],
      recordOnly: false,
    });
    expect(diffFiles(was, { ...was, files: [] }).layoutChanged).toEqual(['files']);
    expect(diffFiles(was, { ...was, files: [file('/c', 'sha256:1')] }).layoutChanged).toEqual(['files']);
    expect(diffFiles(was, { ...was, secrets: [secret('s', 'hmac-sha256:1'), secret('t', '')] }).layoutChanged).toEqual(['secrets']);
    expect(diffFiles(was, { files: [], secrets: [] }).layoutChanged).toEqual(['files', 'secrets']);
  });

  it('does not take another order of the same targets for a change of layout', () => {
    const was = { files: [file('/a', 'sha256:1'), file('/b', 'sha256:2')], secrets: [] };
    const now = { files: [file('/b', 'sha256:2'), file('/a', 'sha256:1')], secrets: [] };
    expect(diffFiles(was, now)).toEqual({ layoutChanged: [], changed: [], recordOnly: false });
  });

  it('marks a change of onChange only, or of the name behind one secret target, as record-only', () => {
    const was = { files: [file('/a', 'sha256:1')], secrets: [secret('s', 'hmac-sha256:1', { target: '/k' })] };
    expect(diffFiles(was, { ...was, files: [file('/a', 'sha256:1', { onChange: 'none' })] })).toEqual({
      layoutChanged: [],
      changed: [],
      recordOnly: true,
    });
    expect(diffFiles(was, { ...was, secrets: [secret('t', 'hmac-sha256:1', { target: '/k' })] })).toEqual({
      layoutChanged: [],
      changed: [],
      recordOnly: true,
    });
    // With an unknown digest, an onChange change is still only the record's.
    expect(diffFiles(was, { ...was, files: [file('/a', '', { onChange: 'none' })] }).recordOnly).toBe(true);
  });

  it('lists every changed entry, files before secrets, in desired order', () => {
    const was = { files: [file('/a', 'sha256:1'), file('/b', 'sha256:1')], secrets: [secret('s', 'x'), secret('t', 'x')] };
    const now = {
      files: [file('/b', 'sha256:2', { onChange: 'none' }), file('/a', 'sha256:2')],
      secrets: [secret('t', 'y', { onChange: 'signal:SIGUSR1' }), secret('s', 'x')],
    };
    expect(diffFiles(was, now).changed).toEqual([
      { kind: 'file', target: '/b', onChange: 'none' },
      { kind: 'file', target: '/a', onChange: 'restart' },
      { kind: 'secret', target: '/run/secrets/t', onChange: 'signal:SIGUSR1' },
    ]);
  });
});

describe('fileChangeEffect and describeFileChanges', () => {
  const c = (target: string, onChange: FileChange['onChange'], kind: FileChange['kind'] = 'file'): FileChange => ({
    kind,
    target,
    onChange,
  });

  it('restarts when any change says restart', () => {
    expect(fileChangeEffect([c('/a', 'restart')])).toEqual({ restart: true });
    expect(fileChangeEffect([c('/a', 'signal:SIGHUP'), c('/b', 'restart'), c('/c', 'none')])).toEqual({ restart: true });
  });

  it('else sends each signal once, in the order of the changes', () => {
    expect(fileChangeEffect([c('/a', 'signal:SIGHUP')])).toEqual({ restart: false, signals: ['SIGHUP'] });
    expect(
      fileChangeEffect([c('/a', 'signal:SIGUSR1'), c('/b', 'none'), c('/c', 'signal:SIGHUP'), c('/d', 'signal:SIGUSR1', 'secret')]),
    ).toEqual({
      restart: false,
      signals: ['SIGUSR1', 'SIGHUP'],
    });
    expect(fileChangeEffect([c('/a', 'none')])).toEqual({ restart: false, signals: [] });
    expect(fileChangeEffect([])).toEqual({ restart: false, signals: [] });
  });

  it('describes files by target and secrets by target with a "secret" prefix, each with its onChange', () => {
    expect(describeFileChanges([c('/etc/a.conf', 'restart'), c('/run/secrets/db', 'signal:SIGHUP', 'secret')])).toBe(
      '/etc/a.conf (onChange: restart), secret /run/secrets/db (onChange: signal:SIGHUP)',
    );
    expect(describeFileChanges([])).toBe('');
  });
});

describe('plan: files and secrets', () => {
  it('leaves a running container whose files are as recorded alone', () => {
    const d = withFiles([{ target: '/etc/a.conf', content: 'v1' }], [{ name: 'db' }], reader({}, { db: 'pw' }));
    const a = one(d, live(d));
    expect(a).toMatchObject({ kind: 'none', reason: 'up to date' });
  });

  it('restarts on its writable layer, never recreates, when the content of a restart file changes', () => {
    const was = withFiles([{ target: '/etc/a.conf', content: 'v1' }]);
    const now = withFiles([{ target: '/etc/a.conf', content: 'v2' }]);
    expect(now.hash).not.toBe(was.hash);
    const a = one(now, live(was));
    expect(a.kind).toBe('restart');
    expect(a.reason).toBe('files changed: /etc/a.conf (onChange: restart); rewritten, then restarted on its writable layer');
    expect(a).toMatchObject({ backoffStep: 0, desired: now });
  });

  it('restarts when the content of a source changes though the spec (and its hash) did not', () => {
    const was = withFiles([{ target: '/etc/a.conf', source: 'a.conf' }], [], reader({ '/specs/a.conf': 'v1' }));
    const now = withFiles([{ target: '/etc/a.conf', source: 'a.conf' }], [], reader({ '/specs/a.conf': 'v2' }));
    expect(now.hash).toBe(was.hash);
    expect(one(now, live(was)).kind).toBe('restart');
  });

  it('rewrites in place and sends SIGHUP for a file with onChange signal:HUP', () => {
    const was = withFiles([{ target: '/etc/a.conf', content: 'v1', onChange: 'signal:HUP' }]);
    const now = withFiles([{ target: '/etc/a.conf', content: 'v2', onChange: 'signal:HUP' }]);
    const a = one(now, live(was)) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files).toEqual({ changes: [{ kind: 'file', target: '/etc/a.conf', onChange: 'signal:SIGHUP' }], signals: ['SIGHUP'] });
    expect(a.changed).toEqual([]);
    expect(a.reason).toBe('files changed: /etc/a.conf (onChange: signal:SIGHUP); rewritten in place, then SIGHUP');
  });

  it('rewrites in place without a signal for a file with onChange none', () => {
    const was = withFiles([{ target: '/etc/a.conf', content: 'v1', onChange: 'none' }]);
    const now = withFiles([{ target: '/etc/a.conf', content: 'v2', onChange: 'none' }]);
    const a = one(now, live(was)) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files).toEqual({ changes: [{ kind: 'file', target: '/etc/a.conf', onChange: 'none' }], signals: [] });
    expect(a.reason).toBe('files changed: /etc/a.conf (onChange: none); rewritten in place');
  });

  it('restarts when one change says restart and another a signal', () => {
    const files = (v: string) => [
      { target: '/etc/a.conf', content: `a${v}` },
      { target: '/etc/b.conf', content: `b${v}`, onChange: 'signal:HUP' },
    ];
    const a = one(withFiles(files('2')), live(withFiles(files('1'))));
    expect(a.kind).toBe('restart');
    expect(a.reason).toMatch(/^files changed: \/etc\/a\.conf \(onChange: restart\), \/etc\/b\.conf \(onChange: signal:SIGHUP\)/);
  });

  it('sends each signal of several changes once', () => {
    const files = (v: string) => [
      { target: '/a', content: `a${v}`, onChange: 'signal:HUP' },
      { target: '/b', content: `b${v}`, onChange: 'signal:SIGHUP' },
      { target: '/c', content: `c${v}`, onChange: 'signal:USR1' },
    ];
    const a = one(withFiles(files('2')), live(withFiles(files('1')))) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files!.signals).toEqual(['SIGHUP', 'SIGUSR1']);
    expect(a.files!.changes.map((c) => c.target)).toEqual(['/a', '/b', '/c']);
  });

  it('rewrites only the files that changed', () => {
    const was = withFiles([
      { target: '/a', content: 'same', onChange: 'none' },
      { target: '/b', content: 'old', onChange: 'none' },
    ]);
    const now = withFiles([
      { target: '/a', content: 'same', onChange: 'none' },
      { target: '/b', content: 'new', onChange: 'none' },
    ]);
    expect((one(now, live(was)) as UpdateAction).files!.changes).toEqual([{ kind: 'file', target: '/b', onChange: 'none' }]);
  });

  it('treats a change of mode or owner as a change to rewrite', () => {
    const was = withFiles([{ target: '/a', content: 'x', onChange: 'none' }]);
    for (const extra of [{ mode: '0600' }, { uid: 1000 }, { gid: 1000 }]) {
      const now = withFiles([{ target: '/a', content: 'x', onChange: 'none', ...extra }]);
      const a = one(now, live(was)) as UpdateAction;
      expect(a.kind).toBe('update');
      expect(a.files!.changes).toEqual([{ kind: 'file', target: '/a', onChange: 'none' }]);
    }
    expect(one(withFiles([{ target: '/a', content: 'x', mode: '0600' }]), live(withFiles([{ target: '/a', content: 'x' }]))).kind).toBe(
      'restart',
    );
  });

  it('recreates, listing files, when a file target is added, removed or moved', () => {
    const was = withFiles([{ target: '/a', content: 'x' }]);
    for (const files of [
      [
        { target: '/a', content: 'x' },
        { target: '/b', content: 'y' },
      ],
      [{ target: '/c', content: 'x' }],
    ]) {
      const a = one(withFiles(files), live(was));
      expect(a.kind).toBe('recreate');
      expect(a).toMatchObject({ changed: ['files'] });
      expect(a.reason).toBe('changed: files; discards the writable layer');
    }
    const gone = one(withFiles([]), live(was));
    expect(gone).toMatchObject({ kind: 'recreate', changed: ['files'] });
    const first = one(was, live(desired(specObj('a'))));
    expect(first).toMatchObject({ kind: 'recreate', changed: ['files'] });
  });

  it('recreates, listing secrets, when a secret target is added', () => {
    const was = withFiles([], [{ name: 'db' }], reader({}, { db: 'pw' }));
    const now = withFiles([], [{ name: 'db' }, { name: 'api' }], reader({}, { db: 'pw', api: 'k' }));
    expect(one(now, live(was))).toMatchObject({ kind: 'recreate', changed: ['secrets'] });
    const fromNone = one(was, live(desired(specObj('a'))));
    expect(fromNone).toMatchObject({ kind: 'recreate', changed: ['secrets'] });
  });

  it('lists files and secrets after the other fields that changed', () => {
    const was = desired(specObj('a'));
    const now = withFiles([{ target: '/a', content: 'x' }], [{ name: 'db' }], reader({}, { db: 'pw' }), { env: { X: '1' } });
    expect(one(now, live(was))).toMatchObject({ kind: 'recreate', changed: ['env', 'files', 'secrets'] });
  });

  it('restarts when the value of a secret changes, and rewrites it in place when its onChange says none', () => {
    const was = withFiles([], [{ name: 'db' }], reader({}, { db: 'pw1' }));
    const now = withFiles([], [{ name: 'db' }], reader({}, { db: 'pw2' }));
    expect(now.hash).toBe(was.hash);
    expect(one(now, live(was)).kind).toBe('restart');
    const quiet = (v: string) => withFiles([], [{ name: 'db', onChange: 'none' }], reader({}, { db: v }));
    const a = one(quiet('pw2'), live(quiet('pw1'))) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files).toEqual({ changes: [{ kind: 'secret', target: '/run/secrets/db', onChange: 'none' }], signals: [] });
    expect(a.reason).toBe('files changed: secret /run/secrets/db (onChange: none); rewritten in place');
  });

  it('takes an unknown desired digest (a load that read no contents) for no change', () => {
    const was = withFiles([{ target: '/a', content: 'x' }], [{ name: 'db' }], reader({}, { db: 'pw' }));
    const unread = desired(specObj('a', { files: [{ target: '/a', content: 'x' }], secrets: [{ name: 'db' }] }));
    expect(unread.spec.files[0]!.digest).toBe('');
    expect(unread.hash).toBe(was.hash);
    expect(one(unread, live(was))).toMatchObject({ kind: 'none', reason: 'up to date' });
  });

  it('never restarts for an unknown digest, even when the inline content changed the hash', () => {
    const was = withFiles([{ target: '/a', content: 'x' }]);
    const unread = desired(specObj('a', { files: [{ target: '/a', content: 'y' }] }));
    const a = one(unread, live(was));
    expect(a.kind).toBe('update');
    expect((a as UpdateAction).files).toBeUndefined();
  });

  it('gives a desired container with a contentProblem as a HOST_CHECK error and no action, running or not', () => {
    const ok = withFiles([{ target: '/a', source: 'a.conf' }], [], reader({ '/specs/a.conf': 'v1' }));
    const broken = withFiles([{ target: '/a', source: 'a.conf' }], [], reader({}));
    expect(broken.contentProblem).toBe('files[0] (/a): source /specs/a.conf: ENOENT');
    const running = plan(planInput([broken], [live(ok)]));
    expect(running.actions).toEqual([]);
    expect(running.problems).toEqual([
      { name: 'a', severity: 'error', message: expect.stringMatching(/^HOST_CHECK: files\[0\] \(\/a\): source \/specs\/a\.conf: ENOENT/) },
    ]);
    expect(running.problems[0]!.message).toMatch(/left as it is/);
    const missing = plan(planInput([broken], []));
    expect(missing.actions).toEqual([]);
    expect(missing.problems).toEqual([{ name: 'a', severity: 'error', message: expect.stringMatching(/^HOST_CHECK: .*not created$/) }]);
  });

  it('does not remove a container whose desired one has a contentProblem, nor touch the others', () => {
    const ok = withFiles([{ target: '/a', source: 'a.conf' }], [], reader({ '/specs/a.conf': 'v1' }));
    const broken = withFiles([{ target: '/a', source: 'a.conf' }], [], reader({}));
    const b = desired(specObj('b'));
    const p = plan(planInput([broken, b], [live(ok), live(b)]));
    expect(p.actions.map((x) => [x.name, x.kind])).toEqual([['b', 'none']]);
    expect(p.problems.map((x) => x.name)).toEqual(['a']);
  });

  it('updates only the record, rewriting nothing, when only onChange changed', () => {
    const was = withFiles([{ target: '/a', content: 'x' }]);
    const now = withFiles([{ target: '/a', content: 'x', onChange: 'signal:HUP' }]);
    const a = one(now, live(was)) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files).toBeUndefined();
    expect(a.changed).toEqual([]);
    const back = one(was, live(now)) as UpdateAction;
    expect(back.kind).toBe('update');
    expect(back.files).toBeUndefined();
  });

  it('updates only the record when a secret with the same target and value is now read under another name', () => {
    const was = withFiles([], [{ name: 'db', target: '/etc/db' }], reader({}, { db: 'pw', db2: 'pw' }));
    const now = withFiles([], [{ name: 'db2', target: '/etc/db' }], reader({}, { db: 'pw', db2: 'pw' }));
    const a = one(now, live(was)) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.files).toBeUndefined();
  });

  it('rewrites files together with a change of limits in one update', () => {
    const was = withFiles([{ target: '/a', content: 'x', onChange: 'none' }], [], reader(), { resources: { pids: 10 } });
    const now = withFiles([{ target: '/a', content: 'y', onChange: 'none' }], [], reader(), { resources: { pids: 20 } });
    const a = one(now, live(was)) as UpdateAction;
    expect(a.kind).toBe('update');
    expect(a.changed).toEqual(['pids']);
    expect(a.files!.changes).toHaveLength(1);
  });

  it('recreates rather than rewrites when a field the process saw changed too', () => {
    const was = withFiles([{ target: '/a', content: 'x', onChange: 'none' }]);
    const now = withFiles([{ target: '/a', content: 'y', onChange: 'none' }], [], reader(), { env: { X: '1' } });
    expect(one(now, live(was))).toMatchObject({ kind: 'recreate', changed: ['env'] });
  });

  it('restarts an exited container per its restart policy, not for its files', () => {
    const was = withFiles([{ target: '/a', content: 'x', onChange: 'none' }]);
    const now = withFiles([{ target: '/a', content: 'y', onChange: 'none' }]);
    const exit = { exitCode: 1, signal: 0, oomKilled: false, oomKillCount: 0, startedAtMs: 1, finishedAtMs: 2 };
    const a = one(now, live(was, { initAlive: false, monitorAlive: false, exit }));
    expect(a.kind).toBe('restart');
    expect(a.reason).toBe('exited with code 1; restart: always');
  });
});
