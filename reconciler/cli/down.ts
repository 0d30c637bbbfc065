import { createLogger } from '../log/logger.js';
import { GLOBAL_HELP, parseCommand } from './options.js';
import { printPass } from './reconcile.js';
import { eventJournal } from './journal.js';
import { printLine } from './stdout.js';

export const DOWN_HELP = `Usage: pocker down [--dir DIR] [--dry-run]

Stops and removes every container whose spec came from --dir (as if the dir were empty), with
everything they own: cgroups, writable layers, logs, state. Containers of other dirs are untouched.
The spec files are not changed: the next "pocker reconcile --once" starts them again.

Options:
  --dry-run   print what would be removed

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { 'dry-run': { type: 'boolean' } });
  if (cmd.values.help) {
    printLine(DOWN_HELP);
    return 0;
  }
  const log = createLogger(cmd.logLevel);
  const { downSource } = await import('../controller/once.js');
  const dryRun = !!cmd.values['dry-run'];
  const result = await downSource({
    dir: cmd.dir,
    dirs: cmd.dirs,
    timeouts: cmd.timeouts,
    dryRun,
    log,
    ...(!dryRun && { events: eventJournal(cmd, 'pocker down', log) }),
  });
  printPass(result, dryRun, printLine);
  return result.ok ? 0 : 1;
}
