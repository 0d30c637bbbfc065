import type { ParseArgsConfig } from 'node:util';
import { monitorBinary } from '../native.js';
import { DEFAULT_NETWORK_OPTIONS } from '../network/conflist.js';
import { detectDriver } from '../runtime/cgroups/detect.js';
import { NodeHost } from '../runtime/nodeHost.js';
import type { AdhocContext } from '../controller/adhoc.js';
import { parseCommand, UsageError } from './options.js';

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
  const host = new NodeHost();
  const c: AdhocContext = { host, driver: detectDriver(host, cmd.dirs.cgroupParent), dirs: cmd.dirs, monitorBinary: monitorBinary(), network: DEFAULT_NETWORK_OPTIONS };
  let failed = 0;
  for (const name of cmd.positionals) {
    try {
      console.log(await act(c, name, values));
    } catch (e) {
      const err = e as Error & { code?: string };
      console.error(`pocker ${verb}: ${err.code ? `${err.code}: ` : ''}${err.message}`);
      failed++;
    }
  }
  return failed ? 1 : 0;
}
