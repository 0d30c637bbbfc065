import { closeSync, fstatSync, openSync, readSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parseLogLine, type LogRecord } from './cri.js';

/** The log files of a container, oldest first: container.log.N … container.log.1, container.log. */
export function logFiles(logPath: string): string[] {
  const dir = dirname(logPath);
  const base = basename(logPath);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  const rotated = names
    .map((n) => ({ n, k: n.startsWith(`${base}.`) ? Number(n.slice(base.length + 1)) : NaN }))
    .filter((x) => Number.isInteger(x.k) && x.k > 0)
    .sort((a, b) => b.k - a.k)
    .map((x) => join(dir, x.n));
  return [...rotated, ...(names.includes(base) ? [logPath] : [])];
}

/** Splits text into complete lines, returning the unfinished rest. */
function splitLines(text: string): { lines: string[]; rest: string } {
  const parts = text.split('\n');
  return { lines: parts.slice(0, -1), rest: parts[parts.length - 1]! };
}

function readWhole(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch {
    return '';
  }
  try {
    const chunks: Buffer[] = [];
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) chunks.push(Buffer.from(buf.subarray(0, n)));
    return Buffer.concat(chunks).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Every record of a container's logs, oldest first, optionally only those at or after sinceMs. */
export function readLogs(logPath: string, sinceMs = -Infinity): LogRecord[] {
  const out: LogRecord[] = [];
  for (const f of logFiles(logPath)) {
    for (const line of splitLines(readWhole(f)).lines) {
      const r = parseLogLine(line);
      if (r && r.timeMs >= sinceMs) out.push(r);
    }
  }
  return out;
}

/** The last n output lines (a line may span several partial records). */
export function tailRecords(records: LogRecord[], n: number): LogRecord[] {
  if (n <= 0) return [];
  let lines = 0;
  let i = records.length;
  while (i > 0) {
    if (records[i - 1]!.full) {
      if (lines === n) break;
      lines++;
    }
    i--;
  }
  return records.slice(i);
}

/** The rotated files written after the one with inode `ino`, oldest first (empty when it is not found). */
function newerRotated(logPath: string, ino: number): string[] {
  const files = logFiles(logPath).filter((f) => f !== logPath);
  const idx = files.findIndex((f) => {
    try {
      return statSync(f).ino === ino;
    } catch {
      return false;
    }
  });
  return idx < 0 ? [] : files.slice(idx + 1);
}

/** A container log opened for following: what it held when opened, and a way to go on from there. */
export interface LogStream {
  /** Every record written before the stream was opened, oldest first. */
  initial: LogRecord[];
  /** Emits every record written since (not one lost or repeated), across rotations; returns stop(). */
  follow(emit: (r: LogRecord) => void, pollMs?: number): () => void;
}

/** Opens a container log: reads all of it, then follow() continues exactly where the reading stopped. */
export function openLogStream(logPath: string): LogStream {
  const initial: LogRecord[] = [];
  let sink: (r: LogRecord) => void = (r) => initial.push(r);
  const follow = followLogs(logPath, (r) => sink(r), 100, true);
  return {
    initial,
    follow(emit, pollMs = 100) {
      sink = emit;
      return follow.start(pollMs);
    },
  };
}

/**
 * Follows a container log from its current end (or, with fromStart, from the oldest rotated
 * file): emits each new record, and keeps going across rotation — the rest of the file being
 * read, then any rotated file written since (several rotations may happen between two looks),
 * then the new file. Returns stop().
 */
export function followLogs(logPath: string, emit: (r: LogRecord) => void, pollMs?: number): () => void;
export function followLogs(
  logPath: string,
  emit: (r: LogRecord) => void,
  pollMs: number,
  fromStart: true,
): { start(pollMs: number): () => void };
export function followLogs(
  logPath: string,
  emit: (r: LogRecord) => void,
  pollMs = 100,
  fromStart = false,
): (() => void) | { start(pollMs: number): () => void } {
  let fd = -1;
  let ino = -1;
  let rest = '';
  const buf = Buffer.allocUnsafe(1 << 16);
  const emitText = (text: string): void => {
    const { lines, rest: r } = splitLines(rest + text);
    rest = r;
    for (const line of lines) {
      const rec = parseLogLine(line);
      if (rec) emit(rec);
    }
  };
  const open = (atEnd: boolean): void => {
    try {
      fd = openSync(logPath, 'r');
      const st = fstatSync(fd);
      ino = st.ino;
      if (atEnd) skip(st.size);
    } catch {
      fd = -1;
    }
  };
  const skip = (bytes: number): void => {
    for (let left = bytes; left > 0;) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
      if (n <= 0) break;
      left -= n;
    }
  };
  const drain = (): void => {
    if (fd < 0) return;
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0;) emitText(buf.subarray(0, n).toString('utf8'));
  };
  if (fromStart) {
    for (const f of logFiles(logPath)) if (f !== logPath) emitText(readWhole(f));
    rest = '';
    open(false);
    drain();
  } else {
    open(true);
  }
  const tick = (): void => {
    drain();
    let current = -1;
    try {
      current = statSync(logPath).ino;
    } catch {
      /* between rotation's rename and the new file: look again next time */
    }
    if (current !== -1 && current !== ino) {
      drain();
      const missed = fd >= 0 ? newerRotated(logPath, ino) : [];
      if (fd >= 0) closeSync(fd);
      for (const f of missed) emitText(readWhole(f));
      rest = '';
      open(false);
      drain();
    } else if (fd < 0) {
      open(false);
    }
  };
  const start = (every: number): (() => void) => {
    const timer = setInterval(tick, every);
    return () => {
      clearInterval(timer);
      if (fd >= 0) closeSync(fd);
    };
  };
  return fromStart ? { start } : start(pollMs);
}
