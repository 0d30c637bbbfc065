import { createLogger } from '../log/logger.js';
import type { PassResult } from '../controller/once.js';
import { formatSpecError } from '../spec/types.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { table } from './table.js';

export const RECONCILE_HELP = `Usage: pocker reconcile --once [--dir DIR] [--dry-run] [--allow-empty]

Makes the host match the specs in --dir: creates missing containers, updates resources in place,
recreates containers whose spec changed otherwise, restarts exited ones per their restart policy,
and removes containers whose spec is gone. A file that fails to parse keeps the containers it last
defined running. Only containers whose specs came from this --dir are ever touched.

Options:
  --once         do one pass and exit (required: the watching controller is not available yet)
  --dry-run      print the plan, change nothing
  --allow-empty  when --dir holds no spec files, remove its containers (otherwise nothing is removed)

Exit status: 0 when everything converged, 1 when a spec was invalid or an action failed, 2 on usage errors.

${GLOBAL_HELP}`;

/** Prints a pass: spec errors, plan problems, then one row per container. */
export function printPass(r: PassResult, dryRun: boolean, out: (s: string) => void): void {
  for (const e of r.load.errors) out(`error: ${formatSpecError(e)}`);
  for (const p of r.plan.problems) out(`${p.severity}: ${p.message}`);
  const byName = new Map(r.results.map((x) => [x.name, x]));
  const rows = r.plan.actions.map((a) => {
    const res = byName.get(a.name);
    let result = a.kind === 'none' ? '-' : dryRun ? 'planned' : '';
    if (res) result = res.ok ? `ok${res.pid ? ` pid ${res.pid}` : ''} (${Math.round(res.durationMs)} ms)` : `FAILED: ${res.error}`;
    return [a.kind, a.name, result, a.reason];
  });
  if (rows.length) out(table(['ACTION', 'NAME', 'RESULT', 'REASON'], rows));
  else if (!r.load.errors.length) out(`no containers for ${r.load.dir}`);
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { once: { type: 'boolean' }, 'dry-run': { type: 'boolean' }, 'allow-empty': { type: 'boolean' } });
  if (cmd.values.help) {
    console.log(RECONCILE_HELP);
    return 0;
  }
  if (!cmd.values.once) throw new UsageError('pass --once: the watching controller is not available yet');
  const log = createLogger(cmd.logLevel);
  const { reconcileOnce } = await import('../controller/once.js');
  const dryRun = !!cmd.values['dry-run'];
  const result = await reconcileOnce({ dir: cmd.dir, dirs: cmd.dirs, allowEmpty: !!cmd.values['allow-empty'], dryRun, log });
  printPass(result, dryRun, (s) => console.log(s));
  return result.ok ? 0 : 1;
}
