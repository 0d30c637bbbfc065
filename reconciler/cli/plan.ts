import { createLogger } from '../log/logger.js';
import { GLOBAL_HELP, parseCommand, trustedUids } from './options.js';
import { printPass } from './reconcile.js';
import { printLine } from './stdout.js';

export const PLAN_HELP = `Usage: pocker plan [--dir DIR] [--allow-empty] [--trusted-owner USER]

Shows what "pocker reconcile --once" would do now, changing nothing. For CI and git hooks:

Exit status: 0 nothing to do, 2 changes pending, 1 errors (an invalid spec or a conflict).

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { 'allow-empty': { type: 'boolean' }, 'trusted-owner': { type: 'string', multiple: true } });
  if (cmd.values.help) {
    printLine(PLAN_HELP);
    return 0;
  }
  const { reconcileOnce } = await import('../controller/once.js');
  const r = await reconcileOnce({
    dir: cmd.dir,
    dirs: cmd.dirs,
    secretsDir: cmd.secretsDir,
    dryRun: true,
    allowEmpty: !!cmd.values['allow-empty'],
    trust: { uids: trustedUids(cmd.values['trusted-owner']) },
    log: createLogger(cmd.logLevel),
  });
  printPass(r, true, printLine);
  if (!r.ok) return 1;
  return r.plan.actions.some((a) => a.kind !== 'none') ? 2 : 0;
}
