import { appendFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventJournal, eventsDir } from '../../reconciler/state/eventJournal.js';
import type { PockerEvent } from '../../reconciler/state/events.js';
import { sleep, until } from '../helpers/wait.js';

describe('the events journal', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = mkdtempSync(join(tmpdir(), 'pocker-journal-'));
  });
  afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

  it('appends JSON lines stamped with the time and the writer, root-only, and reads them back oldest first', () => {
    const j = new EventJournal(dataDir, { maxBytes: 1 << 20, maxFiles: 3 }, 'controller');
    j.emit({ type: 'create', name: 'web', source: '/specs', reason: 'new spec' });
    j.emit({ type: 'exit', name: 'web', exitCode: 3, time: '2026-12-01T10:00:00.000Z' });
    const events = j.read();
    expect(events.map((e) => [e.type, e.by])).toEqual([
      ['create', 'controller'],
      ['exit', 'controller'],
    ]);
    expect(Date.parse(events[0]!.time)).toBeGreaterThan(Date.now() - 5000);
    expect(events[1]!.time).toBe('2026-12-01T10:00:00.000Z');
    expect(statSync(eventsDir(dataDir)).mode & 0o777).toBe(0o700);
    expect(statSync(j.currentFile).mode & 0o777).toBe(0o600);
  });

  it('rotates at maxBytes keeping maxFiles old files, and --since reads across them', () => {
    const j = new EventJournal(dataDir, { maxBytes: 4096, maxFiles: 2 });
    const start = Date.parse('2026-12-01T00:00:00Z');
    for (let i = 0; i < 200; i++)
      j.emit({ type: 'restart', name: `c${i}`, time: new Date(start + i * 1000).toISOString(), reason: 'x'.repeat(40) });
    const files = readdirSync(eventsDir(dataDir))
      .filter((f) => f.startsWith('events.log'))
      .sort();
    expect(files).toEqual(['events.log', 'events.log.1', 'events.log.2']);
    for (const f of files) expect(statSync(join(eventsDir(dataDir), f)).size).toBeLessThanOrEqual(4096);
    const all = j.read();
    // The oldest went with the third rotation; what is kept is contiguous and in order.
    expect(all.length).toBeLessThan(200);
    expect(all.at(-1)!.name).toBe('c199');
    const names = all.map((e) => Number(e.name!.slice(1)));
    expect(names).toEqual([...names].sort((a, b) => a - b));
    expect(names.at(-1)! - names[0]! + 1).toBe(names.length);
    const since = j.read(start + 190_000);
    expect(since.map((e) => e.name)).toEqual(Array.from({ length: 10 }, (_, i) => `c${190 + i}`));
  });

  it('makes its dir once, and again when the dir went away behind its back', () => {
    const j = new EventJournal(dataDir);
    j.emit({ type: 'create', name: 'a' });
    rmSync(eventsDir(dataDir), { recursive: true });
    j.emit({ type: 'removed', name: 'a' });
    expect(j.read().map((e) => e.type)).toEqual(['removed']);
    expect(statSync(eventsDir(dataDir)).mode & 0o777).toBe(0o700);
  });

  it('skips lines that are not events (a write cut by a crash, an unknown type)', () => {
    const j = new EventJournal(dataDir);
    j.emit({ type: 'create', name: 'a' });
    appendFileSync(j.currentFile, '{"time":"2026-12-01T00:00:00Z","type":"nonsense"}\n{"time":"2026-12-01T00:00:0');
    appendFileSync(j.currentFile, '\n');
    j.emit({ type: 'removed', name: 'a' });
    expect(j.read().map((e) => e.type)).toEqual(['create', 'removed']);
  });

  it('cuts long fields so one event stays one small line', () => {
    const j = new EventJournal(dataDir);
    j.emit({ type: 'apply-failed', name: 'a', error: 'e'.repeat(100_000) });
    const [e] = j.read();
    expect((e!.error as string).length).toBeLessThanOrEqual(4097);
  });

  it('a journal that cannot be written reports once and never throws', () => {
    const errors: unknown[] = [];
    const notADir = join(dataDir, 'file');
    writeFileSync(notADir, '');
    const j = new EventJournal(notADir, undefined, undefined, (e) => errors.push(e));
    j.emit({ type: 'create', name: 'a' });
    j.emit({ type: 'create', name: 'b' });
    expect(errors).toHaveLength(1);
  });

  it('follows appends across a rotation, each event once', async () => {
    const writer = new EventJournal(dataDir, { maxBytes: 4096, maxFiles: 3 });
    writer.emit({ type: 'create', name: 'before' });
    const seen: PockerEvent[] = [];
    const reader = new EventJournal(dataDir, { maxBytes: 4096, maxFiles: 3 });
    const stop = reader.follow((e) => seen.push(e), 20, true);
    try {
      expect(seen.map((e) => e.name)).toEqual(['before']);
      for (let i = 0; i < 60; i++) {
        writer.emit({ type: 'restart', name: `c${i}`, reason: 'y'.repeat(60) });
        if (i % 10 === 0) await sleep(30);
      }
      expect(existsSync(`${writer.currentFile}.1`)).toBe(true);
      await until(() => seen.length === 61, 'every event followed', 5000);
      await sleep(100);
      expect(seen.map((e) => e.name)).toEqual(['before', ...Array.from({ length: 60 }, (_, i) => `c${i}`)]);
    } finally {
      stop();
    }
  });
});
