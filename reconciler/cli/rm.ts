import { removeAdhoc } from '../controller/adhoc.js';
import { adhocMain } from './adhocCommand.js';
import { GLOBAL_HELP } from './options.js';

export const RM_HELP = `Usage: pocker rm [-f] NAME...

Removes containers of pocker run and everything they own: cgroups, writable layer, log, network
attachment, state. A running one is refused unless -f (it is stopped first). A container declared
in a spec file is refused: remove its spec file instead.

Options:
  -f, --force   stop a running container and remove it

${GLOBAL_HELP}`;

export function main(args: string[]): Promise<number> {
  return adhocMain('rm', RM_HELP, args, { force: { type: 'boolean', short: 'f' } }, async (c, name, v) => {
    await removeAdhoc(c, name, !!v.force);
    return name;
  });
}
