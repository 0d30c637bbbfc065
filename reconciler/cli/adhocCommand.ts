import type { ParseArgsConfig } from 'node:util';
import { monitorBinary } from '../native.js';
import { DEFAULT_NETWORK_OPTIONS } from '../network/conflist.js';
import { detectDriver } from '../cgroups/detect.js';
import { NodeHost } from '../host/nodeHost.js';
import type { AdhocContext } from '../controller/adhoc.js';
import type { InstanceDirs } from '../state/layout.js';
import { formatCliError, parseCommand, UsageError } from './options.js';
import { prepareInstance } from '../instance/privateDirs.js';
import { createLogger, type Logger } from '../log/logger.js';
import type { Timeouts } from '../host/timeouts.js';
import type { InstanceConfig } from '../instance/config.js';
import { eventJournal } from './journal.js';

/** What the ad-hoc commands act with on this host, for the instance dirs (checked against its data dir); events go to the journal. */
export function adhocContext(
  cmd: { dirs: InstanceDirs; timeouts: Timeouts; config: InstanceConfig },
  by: string,
  log: Logger,
): AdhocContext {
  const { dirs, timeouts } = cmd;
  const host = new NodeHost();
  prepareInstance(host, dirs, log);
  return {
    host,
    driver: detectDriver(host, dirs.cgroupParent),
    dirs,
    monitorBinary: monitorBinary(),
    network: DEFAULT_NETWORK_OPTIONS,
    timeouts,
    events: eventJournal(cmd, by, log),
    ...(cmd.config.usernsPool && { usernsPool: cmd.config.usernsPool }),
  };
}

/**
 * Runs one of `pocker stop|start|rm` on each named container: act returns what to print, a
 * failure is printed and counted (exit 1), the other names are still handled.
 */
export async function adhocMain<O extends NonNullable<ParseArgsConfig['options']>>(
  verb: string,
  help: string,
  args: string[],
  own: O,
  act: (c: AdhocContext, name: string, values: Record<string, unknown>) => Promise<string>,
): Promise<number> {
  const cmd = parseCommand(args, own, true);
  const values = cmd.values as Record<string, unknown>;
  if (values.help) {
    console.log(help);
    return 0;
  }
  if (!cmd.positionals.length) throw new UsageError('name at least one container');
  const c = adhocContext(cmd, `pocker ${verb}`, createLogger(cmd.logLevel));
  let failed = 0;
  for (const name of cmd.positionals) {
    try {
      console.log(await act(c, name, values));
    } catch (e) {
      console.error(`pocker ${verb}: ${formatCliError(e)}`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}
