import { describeError } from '../host/errors.js';
import type { InstanceConfig } from '../instance/config.js';
import type { Logger } from '../log/logger.js';
import { EventJournal } from '../state/eventJournal.js';
import type { InstanceDirs } from '../state/layout.js';

/** The instance's events journal as a command appends to it (`by` names the command in each event). */
export function eventJournal(cmd: { dirs: InstanceDirs; config: InstanceConfig }, by: string, log: Logger): EventJournal {
  return new EventJournal(cmd.dirs.dataDir, cmd.config.events, by, (e) =>
    log.warn({ error: describeError(e) }, `events journal: ${describeError(e)}; events are not recorded until it can be written`),
  );
}
