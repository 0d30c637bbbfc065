import { createLogger } from '../log/logger.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { monitorBinary } from '../native.js';
import { hostLookups } from '../controller/hostLookups.js';
import { loadSpecDir } from '../spec/load.js';
import { findContainer } from './lookup.js';
import { eventJournal } from './journal.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

export const RESTART_HELP = `Usage: pocker restart NAME...

Stops containers and starts them again now, on their own writable layer (files written inside
are kept, as with docker restart), with the spec their spec dir defines. A container whose spec
says state: stopped stays stopped; one whose spec file has errors is left alone.

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, {}, true);
  if (cmd.values.help) {
    console.log(RESTART_HELP);
    return 0;
  }
  if (!cmd.positionals.length) throw new UsageError('name at least one container');
  const log = createLogger(cmd.logLevel);
  const { reconcileOne } = await import('../controller/reconcileOne.js');
  const { buildPass } = await import('../controller/pass.js');
  let failed = 0;
  for (const name of cmd.positionals) {
    const { host, driver, actual } = findContainer(cmd.dirs, name);
    const source = actual.record?.source;
    if (!source)
      throw Object.assign(new Error(`container "${name}" has no readable record; reconcile its spec dir instead`), { code: 'NO_RECORD' });
    const load = loadSpecDir(
      source.dir,
      undefined,
      undefined,
      hostLookups(host, { dataDir: cmd.dirs.dataDir, secretsDir: cmd.secretsDir }),
    );
    if (load.failedFiles.has(source.file) || !load.desired.some((d) => d.spec.name === name)) {
      console.error(
        `pocker restart: ${name}: its spec (${source.dir}/${source.file}) has errors or is gone; run pocker plan --dir ${source.dir}`,
      );
      failed++;
      continue;
    }
    const pass = buildPass({
      source: source.dir,
      load,
      host,
      driver,
      dirs: cmd.dirs,
      backoff: DEFAULT_BACKOFF,
      timeouts: cmd.timeouts,
      monitorBinary: monitorBinary(),
      allowEmpty: false,
      log,
      mayRemove: () => false,
      events: eventJournal(cmd, 'pocker restart', log),
    });
    const outcome = await reconcileOne(pass, name, 'restart');
    const r = outcome.result;
    if (r && !r.ok) failed++;
    console.log(
      r ? `${r.kind} ${name}: ${r.ok ? `ok${r.pid ? ` pid ${r.pid}` : ''}` : `FAILED: ${r.error}`}` : `${name}: ${outcome.action.reason}`,
    );
  }
  return failed ? 1 : 0;
}
