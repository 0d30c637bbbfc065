import { appendFileSync, closeSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { asEvent, type EventInput, type EventSink, type PockerEvent } from './events.js';

/** How the journal is rotated: at maxBytes the file moves to `.1` (and `.1` to `.2`…), keeping maxFiles old ones. */
export interface JournalPolicy {
  maxBytes: number;
  maxFiles: number;
}

/** 10 MiB × 3, as the instance config's `events` keys default to. */
export const DEFAULT_JOURNAL_POLICY: JournalPolicy = { maxBytes: 10 * 1024 * 1024, maxFiles: 3 };

/** Longest text kept of one field (an error, a health check's output): the rest is cut with an ellipsis. */
const MAX_FIELD_CHARS = 4096;

/** Where a data dir's events journal lives. */
export function eventsDir(dataDir: string): string {
  return join(dataDir, 'events');
}

function bounded(e: PockerEvent): PockerEvent {
  const out: PockerEvent = { ...e };
  for (const [k, v] of Object.entries(out))
    if (typeof v === 'string' && v.length > MAX_FIELD_CHARS) out[k] = `${v.slice(0, MAX_FIELD_CHARS)}…`;
  return out;
}

/**
 * The events journal: JSON lines in `<data-dir>/events/events.log`, appended to by the
 * controller, `--once` and the ad-hoc commands alike (one `write` per event, O_APPEND), rotated
 * by whichever writer finds it full (under a lock, so two never rotate at once). Read back by
 * `pocker events`, oldest file first. Writing never throws: a journal that cannot be written is
 * reported once through onError and the work goes on.
 */
export class EventJournal implements EventSink {
  private readonly dir: string;
  private readonly file: string;
  private failing = false;

  constructor(
    dataDir: string,
    private readonly policy: JournalPolicy = DEFAULT_JOURNAL_POLICY,
    private readonly by?: string,
    private readonly onError: (e: unknown) => void = () => undefined,
  ) {
    this.dir = eventsDir(dataDir);
    this.file = join(this.dir, 'events.log');
  }

  /** The journal's files, oldest first (rotated ones that exist, then the current one). */
  files(): string[] {
    const out: string[] = [];
    for (let i = this.policy.maxFiles; i >= 1; i--) out.push(`${this.file}.${i}`);
    out.push(this.file);
    return out;
  }

  /** The current file (what `pocker events -f` follows). */
  get currentFile(): string {
    return this.file;
  }

  emit(input: EventInput): void {
    const e = bounded({
      ...input,
      time: input.time ?? new Date().toISOString(),
      ...(this.by && !input.by && { by: this.by }),
    } as PockerEvent);
    const line = `${JSON.stringify(e)}\n`;
    try {
      this.rotateIfFull(Buffer.byteLength(line));
      this.append(line);
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.onError(err);
      this.failing = true;
    }
  }

  /** Appends a line, making the dir when it is missing (the first event, or the dir went away). */
  private append(line: string): void {
    try {
      appendFileSync(this.file, line, { mode: 0o600 });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      appendFileSync(this.file, line, { mode: 0o600 });
    }
  }

  private size(path: string): number {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  }

  private rotateIfFull(adding: number): void {
    if (this.size(this.file) + adding <= this.policy.maxBytes) return;
    const fd = openSync(join(this.dir, '.rotate.lock'), 'a', 0o600);
    try {
      // Another writer is rotating: this line goes to whichever file is current.
      if (!native().flock(fd, true)) return;
      if (this.size(this.file) + adding <= this.policy.maxBytes) return;
      for (let i = this.policy.maxFiles - 1; i >= 1; i--) {
        try {
          renameSync(`${this.file}.${i}`, `${this.file}.${i + 1}`);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
        }
      }
      renameSync(this.file, this.policy.maxFiles >= 1 ? `${this.file}.1` : `${this.file}.old`);
    } finally {
      closeSync(fd);
    }
  }

  /** Every event of every file (only the rotated ones: withCurrent false), oldest first; lines that are not events are skipped, a file that cannot be read (EACCES) throws EVENTS_READ. */
  read(sinceMs?: number, withCurrent = true): PockerEvent[] {
    const out: PockerEvent[] = [];
    for (const f of withCurrent ? this.files() : this.files().slice(0, -1)) {
      let text: string;
      try {
        text = readFileSync(f, 'utf8');
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'ENOENT') continue;
        throw Object.assign(new Error(`cannot read the events journal ${f}: ${code ?? (e as Error).message}`), {
          code: 'EVENTS_READ',
          path: f,
        });
      }
      for (const e of parseLines(text)) if (sinceMs === undefined || Date.parse(e.time) >= sinceMs) out.push(e);
    }
    return out;
  }

  /**
   * Calls onEvent for each event appended from now on (fromStart: each event of the current file
   * first, before it returns), across rotations (the old file is read to its end before the new
   * one), polling every pollMs, until the returned stop is called.
   */
  follow(onEvent: (e: PockerEvent) => void, pollMs = 200, fromStart = false): () => void {
    let fd: number | null = null;
    let ino = -1;
    let offset = 0;
    let partial = '';
    const open = (fromEnd: boolean): void => {
      try {
        fd = openSync(this.file, 'r');
        const st = fstatSync(fd);
        ino = st.ino;
        offset = fromEnd ? st.size : 0;
      } catch {
        fd = null;
      }
    };
    const drain = (): void => {
      if (fd === null) return;
      const buf = Buffer.alloc(64 * 1024);
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, offset);
        if (n <= 0) break;
        offset += n;
        const text = partial + buf.subarray(0, n).toString('utf8');
        const cut = text.lastIndexOf('\n');
        partial = text.slice(cut + 1);
        for (const e of parseLines(text.slice(0, cut + 1))) onEvent(e);
      }
    };
    open(!fromStart);
    if (fromStart) drain();
    const timer = setInterval(() => {
      drain();
      let now = -1;
      try {
        now = statSync(this.file).ino;
      } catch {
        now = -1;
      }
      if (now !== ino && now !== -1) {
        if (fd !== null) closeSync(fd);
        partial = '';
        open(false);
        drain();
      }
    }, pollMs);
    return () => {
      clearInterval(timer);
      if (fd !== null) closeSync(fd);
      fd = null;
    };
  }
}

function parseLines(text: string): PockerEvent[] {
  const out: PockerEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const e = asEvent(JSON.parse(line));
      if (e) out.push(e);
    } catch {
      // A line cut by a crash mid-write: skipped.
    }
  }
  return out;
}
