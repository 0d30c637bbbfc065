import { stopAdhoc } from '../controller/adhoc.js';
import { adhocMain } from './adhocCommand.js';
import { GLOBAL_HELP } from './options.js';

export const STOP_HELP = `Usage: pocker stop NAME...

Stops containers of pocker run (SIGTERM, SIGKILL after their grace period), keeping their
writable layer and log: pocker start runs them again. A container declared in a spec file is
refused: set "state: stopped" in its spec instead.

${GLOBAL_HELP}`;

export function main(args: string[]): Promise<number> {
  return adhocMain('stop', STOP_HELP, args, {}, async (c, name) => ((await stopAdhoc(c, name)) ? name : `${name}: not running`));
}
