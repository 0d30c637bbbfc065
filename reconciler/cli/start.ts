import { startAdhoc } from '../controller/adhoc.js';
import { adhocMain } from './adhocCommand.js';
import { GLOBAL_HELP } from './options.js';

export const START_HELP = `Usage: pocker start NAME...

Starts stopped or exited containers of pocker run again, detached, on the writable layer they
had. A container declared in a spec file is refused: its spec's "state" decides.

${GLOBAL_HELP}`;

export function main(args: string[]): Promise<number> {
  return adhocMain('start', START_HELP, args, {}, async (c, name) => ((await startAdhoc(c, name)) ? name : `${name}: already running`));
}
