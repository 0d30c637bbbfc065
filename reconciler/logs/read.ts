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
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) chunks.push(Buffer.from(buf.subarray(0, n)));
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

/**
 * Follows a container log from its current end: emits each new record, and keeps going across
 * rotation (the rest of the old file is read before the new one). Returns stop().
 */
export function followLogs(logPath: string, emit: (r: LogRecord) => void, pollMs = 100): () => void {
  let fd = -1;
  let ino = -1;
  let rest = '';
  const buf = Buffer.allocUnsafe(1 << 16);
  const open = (atEnd: boolean): void => {
    try {
      fd = openSync(logPath, 'r');
      const st = fstatSync(fd);
      ino = st.ino;
      if (atEnd) drain(st.size);
    } catch {
      fd = -1;
    }
  };
  const drain = (skip?: number): void => {
    if (fd < 0) return;
    if (skip !== undefined) {
      for (let left = skip; left > 0; ) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, left), null);
        if (n <= 0) break;
        left -= n;
      }
      return;
    }
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) {
      const { lines, rest: r } = splitLines(rest + buf.subarray(0, n).toString('utf8'));
      rest = r;
      for (const line of lines) {
        const rec = parseLogLine(line);
        if (rec) emit(rec);
      }
    }
  };
  open(true);
  const timer = setInterval(() => {
    drain();
    let current = -1;
    try {
      current = statSync(logPath).ino;
    } catch {
      /* between rotation's rename and the new file: look again next time */
    }
    if (current !== -1 && current !== ino) {
      drain();
      if (fd >= 0) closeSync(fd);
      rest = '';
      open(false);
      drain();
    } else if (fd < 0) {
      open(false);
    }
  }, pollMs);
  return () => {
    clearInterval(timer);
    if (fd >= 0) closeSync(fd);
  };
}
