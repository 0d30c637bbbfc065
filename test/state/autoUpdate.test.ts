import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import {
  autoUpdateDir,
  autoUpdateMarker,
  listAutoUpdates,
  readAutoUpdate,
  removeAutoUpdate,
  writeAutoUpdate,
  type AutoUpdateState,
} from '../../reconciler/state/autoUpdate.js';
import type { InstanceDirs } from '../../reconciler/state/layout.js';
import { countingHost } from '../helpers/countingHost.js';
import { FakeHost } from '../helpers/fakeHost.js';

const REF = 'docker.io/library/nginx:1.27';
const D = (c: string): string => `sha256:${c.repeat(64)}`;
const DIRS: InstanceDirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

const idle: AutoUpdateState = { phase: 'idle', reference: REF, bad: [] };
const full: AutoUpdateState = {
  phase: 'watching',
  reference: REF,
  from: D('a'),
  to: D('b'),
  sinceMs: 1_700_000_000_000,
  restartsAtStart: 2,
  bad: [D('c'), D('d')],
  lastRollback: { bad: D('c'), to: D('a'), atMs: 1_600_000_000_000, reason: 'it exited with code 1' },
  lastCheck: { atMs: 1_700_000_000_001, digest: D('b') },
};

describe('auto-update state (fake host)', () => {
  it('keeps its files under <data-dir>/auto-update', () => {
    expect(autoUpdateDir(DIRS)).toBe('/var/lib/pocker/auto-update');
  });

  it('is null for a container with none', () => {
    expect(readAutoUpdate(new FakeHost('v2'), DIRS, 'web')).toBeNull();
    expect(listAutoUpdates(new FakeHost('v2'), DIRS)).toEqual(new Map());
  });

  it('round-trips every field, written durably into a directory it makes', () => {
    const { host, calls } = countingHost(new FakeHost('v2'));
    writeAutoUpdate(host, DIRS, 'web', full);
    expect(calls).toEqual(['mkdir /var/lib/pocker/auto-update', 'writeFileDurable /var/lib/pocker/auto-update/web.json']);
    expect(readAutoUpdate(host, DIRS, 'web')).toEqual(full);
    expect(host.readFile('/var/lib/pocker/auto-update/web.json')).toBe(`${JSON.stringify(full)}\n`);
  });

  it('replaces what was written before, and lists each container once', () => {
    const host = new FakeHost('v2');
    writeAutoUpdate(host, DIRS, 'web', full);
    writeAutoUpdate(host, DIRS, 'web', idle);
    writeAutoUpdate(host, DIRS, 'api', full);
    expect(readAutoUpdate(host, DIRS, 'web')).toEqual(idle);
    expect(listAutoUpdates(host, DIRS)).toEqual(
      new Map([
        ['api', full],
        ['web', idle],
      ]),
    );
  });

  it('forgets a removed container (and removing one that has none is no error)', () => {
    const host = new FakeHost('v2');
    writeAutoUpdate(host, DIRS, 'web', full);
    writeAutoUpdate(host, DIRS, 'api', idle);
    removeAutoUpdate(host, DIRS, 'web');
    expect(readAutoUpdate(host, DIRS, 'web')).toBeNull();
    expect([...listAutoUpdates(host, DIRS).keys()]).toEqual(['api']);
    expect(() => removeAutoUpdate(host, DIRS, 'web')).not.toThrow();
    expect(() => removeAutoUpdate(new FakeHost('v2'), DIRS, 'web')).not.toThrow();
  });

  it('reads an unreadable file as null (nothing under way), and lists only the readable ones', () => {
    const host = new FakeHost('v2');
    writeAutoUpdate(host, DIRS, 'good', idle);
    const dir = autoUpdateDir(DIRS);
    const bad: Record<string, string> = {
      truncated: '{"phase":"watching","refer',
      empty: '',
      null: 'null',
      number: '42',
      array: '[]',
      'no-phase': JSON.stringify({ reference: REF, bad: [] }),
      'phase-not-a-string': JSON.stringify({ phase: 3, reference: REF, bad: [] }),
      'no-bad': JSON.stringify({ phase: 'idle', reference: REF }),
      'bad-not-a-list': JSON.stringify({ phase: 'idle', reference: REF, bad: 'sha256:x' }),
    };
    for (const [name, text] of Object.entries(bad)) {
      host.writeFileAtomic(join(dir, `${name}.json`), text);
      expect(readAutoUpdate(host, DIRS, name), name).toBeNull();
    }
    host.writeFileAtomic(join(dir, 'notes.txt'), JSON.stringify(idle));
    host.writeFileAtomic(join(dir, 'web.json.tmp'), JSON.stringify(idle));
    expect([...listAutoUpdates(host, DIRS).keys()]).toEqual(['good']);
  });
});

describe('auto-update state (real files)', () => {
  let root: string;
  let dirs: InstanceDirs;
  const host = new NodeHost();

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pocker-auto-update-'));
    dirs = { stateDir: join(root, 'run'), dataDir: join(root, 'data'), cgroupParent: 'pocker-test' };
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('round-trips through a file only its owner reads, in a directory only its owner enters', () => {
    writeAutoUpdate(host, dirs, 'web', full);
    const file = join(dirs.dataDir, 'auto-update', 'web.json');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(full);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(autoUpdateDir(dirs)).mode & 0o777).toBe(0o700);
    expect(readAutoUpdate(host, dirs, 'web')).toEqual(full);
    expect(listAutoUpdates(host, dirs)).toEqual(new Map([['web', full]]));
    removeAutoUpdate(host, dirs, 'web');
    expect(readAutoUpdate(host, dirs, 'web')).toBeNull();
    expect(listAutoUpdates(host, dirs)).toEqual(new Map());
  });

  it('lists nothing when the directory does not exist, and skips a corrupt file', () => {
    expect(listAutoUpdates(host, dirs)).toEqual(new Map());
    writeAutoUpdate(host, dirs, 'web', idle);
    writeFileSync(join(autoUpdateDir(dirs), 'api.json'), '{not json');
    expect(readAutoUpdate(host, dirs, 'api')).toBeNull();
    expect(listAutoUpdates(host, dirs)).toEqual(new Map([['web', idle]]));
  });
});

describe('autoUpdateMarker', () => {
  const rollback = { bad: D('b'), to: D('a'), atMs: 5, reason: 'it restarted 3 times' };

  it('says nothing without a state, or for an idle one that never rolled back', () => {
    expect(autoUpdateMarker(null)).toBeNull();
    expect(autoUpdateMarker(undefined)).toBeNull();
    expect(autoUpdateMarker(idle)).toBeNull();
    expect(autoUpdateMarker({ ...idle, bad: [D('b')], lastCheck: { atMs: 1, digest: D('b') } })).toBeNull();
    expect(autoUpdateMarker({ ...idle, lastCheck: { atMs: 1, error: 'registry unreachable' } })).toBeNull();
  });

  it('names each phase under way', () => {
    expect(autoUpdateMarker({ ...full, phase: 'updating' })).toBe('updating');
    expect(autoUpdateMarker({ ...full, phase: 'watching' })).toBe('watching');
    expect(autoUpdateMarker({ ...full, phase: 'rolling-back' })).toBe('rolling back');
    // The phase wins over an earlier rollback.
    expect(autoUpdateMarker({ ...full, phase: 'watching', lastRollback: rollback })).toBe('watching');
  });

  it('says rolled back once idle after a rollback', () => {
    expect(autoUpdateMarker({ phase: 'idle', reference: REF, bad: [D('b')], lastRollback: rollback })).toBe('rolled back');
  });
});
