/** One record of a container log in the CRI format the monitor writes: "<RFC3339Nano> <stream> <F|P> <text>". */
export interface LogRecord {
  /** Epoch milliseconds of the timestamp. */
  timeMs: number;
  /** The timestamp as written (nanoseconds kept). */
  time: string;
  stream: 'stdout' | 'stderr';
  /** F: the line is complete (a newline followed); P: a part of a longer line. */
  full: boolean;
  text: string;
}

const LINE = /^(\S+) (stdout|stderr) ([FP]) (.*)$/;

/** Parses one log line; null for anything that is not a record. */
export function parseLogLine(line: string): LogRecord | null {
  const m = LINE.exec(line);
  if (!m) return null;
  const timeMs = Date.parse(m[1]!);
  if (Number.isNaN(timeMs)) return null;
  return { time: m[1]!, timeMs, stream: m[2] as 'stdout' | 'stderr', full: m[3] === 'F', text: m[4]! };
}

/** The original output of a record: its text, plus the newline a full line had. */
export function recordText(r: LogRecord): string {
  return r.full ? `${r.text}\n` : r.text;
}
