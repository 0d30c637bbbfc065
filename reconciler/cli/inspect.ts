import { readAutoUpdate } from '../state/autoUpdate.js';
import { readFileSync } from 'node:fs';
import { containerPaths } from '../state/layout.js';
import { findContainer } from './lookup.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { psEntry } from './ps.js';
import { seccompDescription } from '../runtime/security/policy.js';
import { seccompSupported } from '../runtime/security/seccomp.js';
import { effectiveCapabilities } from '../runtime/security/capabilities.js';

export const INSPECT_HELP = `Usage: pocker inspect NAME

Prints everything pocker knows about a container as JSON: state, pids, the normalized spec and
its hash, source file and git revision it was applied from, cgroup directories, the mounts inside
it, limits read back from the kernel (block I/O throttles by device number, MAJ:MIN), the last
exit, restart count and health.

${GLOBAL_HELP}`;

/** Mount points of a live process's mount namespace (what the container sees). */
function mountsOf(pid: number): Array<{ target: string; type: string; source: string; options: string }> {
  try {
    return readFileSync(`/proc/${pid}/mountinfo`, 'utf8')
      .trim()
      .split('\n')
      .map((l) => {
        const [pre, post] = l.split(' - ');
        const f = pre!.split(' ');
        const p = post!.split(' ');
        return { target: f[4]!, type: p[0]!, source: p[1]!, options: f[5]! };
      });
  } catch {
    return [];
  }
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, {}, true);
  if (cmd.values.help) {
    console.log(INSPECT_HELP);
    return 0;
  }
  if (cmd.positionals.length !== 1) throw new UsageError('name exactly one container');
  const name = cmd.positionals[0]!;
  const { host, driver, actual } = findContainer(cmd.dirs, name);
  const paths = containerPaths(cmd.dirs, name);
  const r = actual.record;
  const out = {
    ...psEntry(actual, Date.now(), readAutoUpdate(host, cmd.dirs, name)),
    hash: r?.hash ?? null,
    revision: r?.revision ?? null,
    createdAt: r ? new Date(r.createdAtMs).toISOString() : null,
    phase: r?.phase ?? null,
    recordProblem: actual.recordProblem ?? null,
    spec: r?.spec ?? null,
    userSpec: r?.user ?? null,
    source: r?.source ?? null,
    cgroups: { version: driver.version, parent: driver.parent, dirs: driver.dirs(name) },
    paths: { state: paths.stateDir, data: paths.dataDir, upper: paths.upper, log: paths.log },
    pids: actual.pids,
    health: actual.health ?? null,
    security: r
      ? {
          seccomp: seccompDescription(r.spec),
          capabilities: effectiveCapabilities(r.spec.privileged, r.spec.capabilities.add, r.spec.capabilities.drop),
          inheritableCapabilities: [],
          noNewPrivs: !r.spec.privileged,
        }
      : null,
    mounts: actual.initAlive && actual.pids ? mountsOf(actual.pids.initPid) : [],
  };
  if (r && !r.spec.privileged && !seccompSupported()) console.error(`pocker inspect: WARNING: ${seccompDescription(r.spec)}`);
  console.log(JSON.stringify(out, null, 2));
  return 0;
}
