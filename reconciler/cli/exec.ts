import { constants } from 'node:os';
import { observedStatus } from '../observe/types.js';
import { startExec } from '../host/execProcess.js';
import { execConfig } from '../runtime/exec.js';
import { monitorBinary } from '../native.js';
import { findContainer } from './lookup.js';
import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';

export const EXEC_HELP = `Usage: pocker exec [-i] [-t] [-e KEY=VALUE]... [-w DIR] NAME -- COMMAND [ARG...]

Runs COMMAND inside a running container: in its namespaces (PID, mount, UTS, IPC, network,
cgroup) and cgroups, with the workload's environment and working directory. Exits with the
command's exit status (126: it could not be started, 127: not found, 128+N: killed by signal N).

Options:
  -i, --interactive   pass stdin through (otherwise the command reads /dev/null)
  -t, --tty           run the command on a new terminal (a pty of the container's own devpts);
                      with -i this is an interactive shell: pocker exec -it web -- sh
  -e, --env K=V       extra environment variable (repeatable)
  -w, --workdir DIR   working directory inside the container

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(
    args,
    {
      interactive: { type: 'boolean', short: 'i' },
      tty: { type: 'boolean', short: 't' },
      env: { type: 'string', short: 'e', multiple: true },
      workdir: { type: 'string', short: 'w' },
    },
    true,
  );
  if (cmd.values.help) {
    console.log(EXEC_HELP);
    return 0;
  }
  const [name, ...argv] = cmd.positionals;
  if (!name || argv.length === 0) throw new UsageError('give a container name and a command: pocker exec NAME -- COMMAND');
  const env: Record<string, string> = {};
  for (const kv of cmd.values.env ?? []) {
    const eq = kv.indexOf('=');
    if (eq <= 0) throw new UsageError(`-e ${kv}: expected KEY=VALUE`);
    env[kv.slice(0, eq)] = kv.slice(eq + 1);
  }
  if (cmd.values.workdir !== undefined && !cmd.values.workdir.startsWith('/')) throw new UsageError('-w takes an absolute path');
  const { driver, actual } = findContainer(cmd.dirs, name);
  if (observedStatus(actual) !== 'running' || !actual.record)
    throw Object.assign(new Error(`container "${name}" is not running (${observedStatus(actual)})`), { code: 'NOT_RUNNING' });
  if (actual.limits?.frozen)
    throw Object.assign(
      new Error(`container "${name}" is paused (state: paused in its spec): a command there would not run until it resumes`),
      { code: 'PAUSED' },
    );
  const config = execConfig(
    actual.record.spec,
    actual.pids!,
    driver.placement(name),
    {
      argv,
      env,
      ...(cmd.values.workdir !== undefined && { cwd: cmd.values.workdir }),
      tty: !!cmd.values.tty,
      stdin: !!cmd.values.interactive || !!cmd.values.tty,
    },
    !!actual.record.userns,
  );
  const child = startExec(monitorBinary(), config, 'inherit');
  const ignore = (): void => {};
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const) process.on(s, ignore);
  return new Promise((resolve) => {
    child.on('error', (e) => {
      console.error(`pocker exec: ${e.message}`);
      resolve(126);
    });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 + constants.signals[signal] : 1)));
  });
}
