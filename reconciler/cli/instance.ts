import { DEFAULT_USERNS_POOL } from '../state/userns.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

export const INSTANCE_HELP = `Usage: pocker instance show | claim | move [--to-state-dir DIR] [--to-cgroup-parent PATH] [--stop]

An instance is one state dir, one data dir and one cgroup parent. Its data dir records which
state dir and cgroup parent are its own (<data-dir>/instance.json); a command whose flags or
config disagree with that is refused (INSTANCE_MISMATCH), so a pass with other flags never takes
another instance's containers for garbage.

  show    the instance this command's flags and config name, the data dir's own record of it,
          and whether they agree (exit 1 when they do not)
  claim   record that the data dir belongs to these directories, for a data dir an earlier
          release made whose containers no record in --state-dir vouches for
  move    give the instance another state dir or cgroup parent, on purpose: every container
          must be stopped (--stop stops the running ones, keeping their writable layers, and
          they start again at the next pass). Their cgroups and network attachments are
          released, their records and the data dir's identity rewritten. Then point the config
          (or the flags) at the new values and run the controller again.

Options of move:
  --to-state-dir DIR        the new state dir
  --to-cgroup-parent PATH   the new cgroup parent
  --stop                    stop running containers first

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(
    args,
    { 'to-state-dir': { type: 'string' }, 'to-cgroup-parent': { type: 'string' }, stop: { type: 'boolean' } },
    true,
  );
  if (cmd.values.help) {
    console.log(INSTANCE_HELP);
    return 0;
  }
  const [sub, ...rest] = cmd.positionals;
  if (rest.length) throw new UsageError(`unexpected argument ${rest[0]}`);
  const { NodeHost } = await import('../host/nodeHost.js');
  const identity = await import('../instance/identity.js');
  const host = new NodeHost();
  switch (sub) {
    case 'show': {
      const recorded = identity.readInstanceFile(host, cmd.dirs);
      const diff = recorded ? identity.identityMismatch(recorded, cmd.dirs) : '';
      console.log(
        JSON.stringify(
          {
            config: cmd.config.path,
            given: cmd.dirs,
            recorded: recorded
              ? {
                  stateDir: recorded.stateDir,
                  dataDir: recorded.dataDir,
                  cgroupParent: recorded.cgroupParent,
                  createdAt: new Date(recorded.createdAtMs).toISOString(),
                }
              : null,
            agree: !diff,
            ...(diff && { mismatch: diff }),
            timeouts: cmd.timeouts,
            usernsPool: cmd.config.usernsPool ?? DEFAULT_USERNS_POOL,
          },
          null,
          2,
        ),
      );
      return diff ? 1 : 0;
    }
    case 'claim': {
      if (identity.readInstanceFile(host, cmd.dirs)) {
        identity.checkInstance(host, cmd.dirs, false);
        console.log(`data dir ${cmd.dirs.dataDir} already belongs to this instance`);
        return 0;
      }
      identity.writeInstanceFile(host, cmd.dirs);
      console.log(
        `data dir ${cmd.dirs.dataDir} now belongs to the instance of --state-dir ${cmd.dirs.stateDir} and --cgroup-parent ${cmd.dirs.cgroupParent}`,
      );
      return 0;
    }
    case 'move': {
      const to = {
        stateDir: cmd.values['to-state-dir'] ?? cmd.dirs.stateDir,
        dataDir: cmd.dirs.dataDir,
        cgroupParent: cmd.values['to-cgroup-parent'] ?? cmd.dirs.cgroupParent,
      };
      if (to.stateDir === cmd.dirs.stateDir && to.cgroupParent === cmd.dirs.cgroupParent)
        throw new UsageError('say where to: --to-state-dir and/or --to-cgroup-parent');
      const { moveInstance } = await import('../instance/move.js');
      const moved = await moveInstance(host, cmd.dirs, to, { stop: !!cmd.values.stop, timeouts: cmd.timeouts });
      console.log(
        `moved ${moved.length} container(s) (${moved.join(', ') || 'none'}) to --state-dir ${to.stateDir} --cgroup-parent ${to.cgroupParent}`,
      );
      console.log(
        `now set stateDir/cgroupParent in ${cmd.config.path ?? '/etc/pocker/pocker.yaml'} (or pass the new flags) and run the controller again: the containers start at its first pass`,
      );
      return 0;
    }
    default:
      throw new UsageError(sub ? `unknown subcommand "${sub}"` : 'say show, claim or move');
  }
}
