import { formatCliError, GLOBAL_HELP, UsageError } from './usage.js';
import { printLine } from './stdout.js';

const VERSION = '0.1.0';

/** The top-level help. */
export function mainHelp(): string {
  return `pocker — declarative container reconciler for one Linux host

Usage: pocker <command> [options]

Commands:
  reconcile          watch --dir and keep the containers converged to its specs (--once: one pass)
  plan               show what a pass would do (exit 0 nothing, 2 changes, 1 errors)
  ps                 list containers, their state and limits
  stats              what each container uses: CPU, memory, working set, swap, pids, block and network I/O
  inspect NAME       everything about one container, as JSON
  logs NAME          a container's output (-f to follow)
  events             what happened: starts, exits, OOM kills, restarts, health, failures (-f to follow)
  exec NAME -- CMD   run a command inside a running container (-it for a terminal)
  restart NAME...    recreate containers now, spec unchanged
  status             git revision last applied per spec dir, and failed files
  validate [FILE...] check spec files (host-independent)
  convert FILE       turn a docker compose file into spec files, one per service (-o DIR; --strict)
  export kube        write the specs of --dir as Kubernetes objects for kubectl apply (-o FILE|DIR; --strict)
  down               stop and remove every container of --dir
  network rm NAME    remove a CNI network's bridge and shared rules once no container uses it
  image pull|update|import|ls|rm|prune
                     registry and OCI images: pull, move pinned containers, import, list, remove
  volume ls|inspect|rm|prune
                     named volumes: list them, show one, remove those nothing uses
  run IMAGE CMD...   create and start a container from flags (ad hoc; -it for a shell, -d detached)
  stop|start NAME    stop (keeping its writable layer) or start again a container of pocker run
  rm [-f] NAME       remove a container of pocker run
  instance show|claim|move
                     the instance (state dir, data dir, cgroup parent) its data dir belongs to; move it on purpose

Run "pocker <command> --help" for a command's options.

${GLOBAL_HELP}
  --version             print the version`;
}

/** A verb's module: its main takes the arguments after the verb and returns the exit status. */
export type CommandModule = { main(args: string[]): Promise<number> };

/** The verbs a CLI build carries, each loaded when it is used. */
export type Commands = Record<string, () => Promise<CommandModule>>;

/** Runs the CLI and returns the exit status. */
export async function run(argv: string[], commands: Commands): Promise<number> {
  const [verb, ...rest] = argv;
  if (verb === undefined || verb === '-h' || verb === '--help' || verb === 'help') {
    printLine(mainHelp());
    return verb === undefined ? 2 : 0;
  }
  if (verb === '--version' || verb === 'version') {
    printLine(VERSION);
    return 0;
  }
  const load = commands[verb];
  if (!load) {
    console.error(`pocker: unknown command "${verb}" (see pocker --help)`);
    return 2;
  }
  try {
    return await (await load()).main(rest);
  } catch (e) {
    if (e instanceof UsageError) {
      console.error(`pocker ${verb}: ${e.message} (see pocker ${verb} --help)`);
      return 2;
    }
    console.error(`pocker ${verb}: ${formatCliError(e)}`);
    return 1;
  }
}

/** Runs the CLI on this process's arguments and sets its exit status. */
export function startCli(commands: Commands): void {
  run(process.argv.slice(2), commands).then(
    (code) => {
      process.exitCode = code;
    },
    (e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    },
  );
}
