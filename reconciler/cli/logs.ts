import { existsSync } from 'node:fs';
import { recordText, type LogRecord } from '../logs/cri.js';
import { openLogStream, readLogs, tailRecords } from '../logs/read.js';
import { parseDuration } from '../spec/duration.js';
import { containerPaths } from '../state/layout.js';
import { findContainer } from './lookup.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

export const LOGS_HELP = `Usage: pocker logs NAME [-f] [--tail N] [--since T] [-t]

Prints a container's stdout and stderr (to stdout and stderr), oldest first, from its rotated log
files (<data-dir>/containers/NAME/container.log and .1 .. .N).

Options:
  -f, --follow       keep printing new output, across log rotation and restarts, until the
                     container is removed or you interrupt
  --tail N           only the last N lines
  --since T          only output since T: a duration back from now (10m, 1h30m) or an RFC 3339 time
  -t, --timestamps   prefix every line with its time

${GLOBAL_HELP}`;

function parseSince(v: string | undefined): number {
  if (v === undefined) return -Infinity;
  const d = parseDuration(v);
  if ('ms' in d) return Date.now() - d.ms;
  const t = Date.parse(v);
  if (Number.isNaN(t)) throw new UsageError(`--since ${v} is neither a duration (10m) nor a time (2026-01-02T15:04:05Z)`);
  return t;
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(
    args,
    {
      follow: { type: 'boolean', short: 'f' },
      tail: { type: 'string' },
      since: { type: 'string' },
      timestamps: { type: 'boolean', short: 't' },
    },
    true,
  );
  if (cmd.values.help) {
    console.log(LOGS_HELP);
    return 0;
  }
  if (cmd.positionals.length !== 1) throw new UsageError('name exactly one container');
  const name = cmd.positionals[0]!;
  findContainer(cmd.dirs, name);
  const tail = cmd.values.tail === undefined ? undefined : Number(cmd.values.tail);
  if (tail !== undefined && (!Number.isInteger(tail) || tail < 0)) throw new UsageError('--tail takes a whole number');
  const paths = containerPaths(cmd.dirs, name);
  const print = (r: LogRecord): void => {
    const text = cmd.values.timestamps ? `${r.time} ${recordText(r)}` : recordText(r);
    (r.stream === 'stderr' ? process.stderr : process.stdout).write(text);
  };
  const since = parseSince(cmd.values.since);
  const stream = cmd.values.follow ? openLogStream(paths.log) : null;
  let records = stream ? stream.initial.filter((r) => r.timeMs >= since) : readLogs(paths.log, since);
  if (tail !== undefined) records = tailRecords(records, tail);
  records.forEach(print);
  if (!stream) return 0;
  await new Promise<void>((resolve) => {
    const stop = stream.follow(print);
    const gone = setInterval(() => {
      if (!existsSync(paths.dataDir)) finish();
    }, 500);
    const finish = (): void => {
      clearInterval(gone);
      stop();
      resolve();
    };
    process.once('SIGINT', finish);
    process.once('SIGTERM', finish);
  });
  return 0;
}
