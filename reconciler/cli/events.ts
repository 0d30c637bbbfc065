import { parseDuration } from '../spec/duration.js';
import { EventJournal } from '../state/eventJournal.js';
import { eventMatches, EVENT_TYPES, formatEvent, parseEventFilter, type EventFilter, type PockerEvent } from '../state/events.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

export const EVENTS_HELP = `Usage: pocker events [--since T] [--until T] [--filter KEY=VALUE,...] [-o text|json] [-f]

What happened to the containers of this instance, oldest first, from the events journal in
<data-dir>/events/ (JSON lines, rotated at 10 MiB keeping 3 old files unless the instance config's
events: maxSize and maxFiles say otherwise). The watching controller, reconcile --once and pocker
run, stop, start, rm and restart all append to it, so it survives controller restarts and reboots.

Types: ${EVENT_TYPES.join(', ')}.

Options:
  --since T             only events at or after T: a duration back from now (10m, 1h30m) or a time
                        (2026-12-01T10:00:00Z, or seconds since the epoch)
  --until T             only events before T (same forms)
  --filter KEY=VALUE    name=NAME, type=TYPE, source=DIR; comma-separated or repeated; a key given
                        twice matches either value, different keys must all match
  -o, --output FORMAT   text (default: one line per event) or json (one JSON object per line)
  -f, --follow          after the events so far, print new ones as they come until interrupted

${GLOBAL_HELP}`;

/** Epoch ms of a --since/--until value: a duration back from now, an ISO time, or epoch seconds. */
export function parseTime(flag: string, text: string, now = Date.now()): number {
  if (/^[0-9]+(\.[0-9]+)?$/.test(text)) return Number(text) * 1000;
  const d = parseDuration(text);
  if (!('error' in d)) return now - d.ms;
  const t = Date.parse(text);
  if (!Number.isNaN(t)) return t;
  throw new UsageError(`--${flag} ${text}: not a duration (1h, 30m) or a time (2026-12-01T10:00:00Z, epoch seconds)`);
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, {
    since: { type: 'string' },
    until: { type: 'string' },
    filter: { type: 'string', multiple: true },
    output: { type: 'string', short: 'o' },
    follow: { type: 'boolean', short: 'f' },
  });
  const v = cmd.values;
  if (v.help) {
    console.log(EVENTS_HELP);
    return 0;
  }
  const format = v.output ?? 'text';
  if (format !== 'text' && format !== 'json') throw new UsageError('-o must be text or json');
  const parsed = parseEventFilter(v.filter ?? []);
  if ('error' in parsed) throw new UsageError(`--filter: ${parsed.error}`);
  const filter: EventFilter = parsed;
  const since = v.since === undefined ? undefined : parseTime('since', v.since);
  const until = v.until === undefined ? undefined : parseTime('until', v.until);
  if (until !== undefined && v.follow) throw new UsageError('--until and --follow do not go together');
  const journal = new EventJournal(cmd.dirs.dataDir, cmd.config.events);
  const print = (e: PockerEvent): void => {
    const t = Date.parse(e.time);
    if (!eventMatches(e, filter) || (since !== undefined && t < since) || (until !== undefined && t >= until)) return;
    console.log(format === 'json' ? JSON.stringify(e) : formatEvent(e));
  };
  if (!v.follow) {
    for (const e of journal.read(since)) print(e);
    return 0;
  }
  // The rotated files, then the current one read to its end and followed from there: nothing twice, nothing lost.
  for (const e of journal.read(since, false)) print(e);
  const stop = journal.follow(print, 200, true);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    process.stdout.once('error', () => resolve());
  });
  stop();
  return 0;
}
