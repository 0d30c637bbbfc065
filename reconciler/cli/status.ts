import { NodeHost } from '../host/nodeHost.js';
import { listSourceStatuses } from '../controller/sourceStatus.js';
import { GLOBAL_HELP, parseCommand } from './options.js';
import { table } from './table.js';
import { listAutoUpdates } from '../state/autoUpdate.js';

export const STATUS_HELP = `Usage: pocker status [-o table|json]

For every spec dir reconciled on this instance: the git revision (when the dir is in a git work
tree) of the last pass and of the last pass that fully converged, which files failed, at which
revision, with their errors, the removals the last pass held back (a dir with no spec file
without --allow-empty, more than --max-deletions at once), and the auto-updates under way, rolled
back (the digest marked bad, and why) or whose last check failed.

${GLOBAL_HELP}`;

const short = (rev: string | null | undefined): string => (rev ? rev.slice(0, 12) : '-');
const when = (ms: number | undefined): string => (ms ? new Date(ms).toISOString() : '-');

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { output: { type: 'string', short: 'o' } });
  if (cmd.values.help) {
    console.log(STATUS_HELP);
    return 0;
  }
  const host = new NodeHost();
  const statuses = listSourceStatuses(host, cmd.dirs.stateDir);
  if (cmd.values.output === 'json') {
    console.log(JSON.stringify(statuses, null, 2));
    return 0;
  }
  if (!statuses.length) {
    console.log('no spec dir has been reconciled on this instance yet');
    return 0;
  }
  console.log(
    table(
      ['SPEC DIR', 'LAST ATTEMPT', 'AT', 'RESULT', 'LAST APPLIED', 'AT'],
      statuses.map((s) => [
        s.dir,
        short(s.lastAttempt?.revision),
        when(s.lastAttempt?.atMs),
        s.lastAttempt?.ok ? 'ok' : 'errors',
        short(s.lastApplied?.revision),
        when(s.lastApplied?.atMs),
      ]),
    ),
  );
  for (const s of statuses)
    for (const f of s.failedFiles) console.log(`\nfailed at ${short(f.revision)}: ${s.dir}/${f.file}\n  ${f.errors.join('\n  ')}`);
  for (const [name, u] of listAutoUpdates(host, cmd.dirs)) {
    const r = u.lastRollback;
    if (u.phase !== 'idle') console.log(`\nauto-update: ${name}: ${u.phase} ${u.from ?? '?'} -> ${u.to ?? '?'}`);
    if (r) console.log(`\nauto-update: ${name} rolled back at ${when(r.atMs)} from ${r.bad} to ${r.to}: ${r.reason} (marked bad)`);
    if (u.lastCheck?.error) console.log(`\nauto-update: ${name}: last check at ${when(u.lastCheck.atMs)} failed: ${u.lastCheck.error}`);
  }
  for (const s of statuses) {
    const h = s.removalsHeld;
    if (h)
      console.log(
        `\nremovals held: ${h.count} container(s) kept: ${h.reason} (since ${when(h.sinceMs)}; ${h.names.join(', ')}${h.count > h.names.length ? ', …' : ''})`,
      );
  }
  return 0;
}
