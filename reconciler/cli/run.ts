import { builtins } from '../builtins.js';
import { constants } from 'node:os';
import type { ParseArgsConfig } from 'node:util';
import { DEFAULTS } from '../spec/normalize.js';
import { desiredFromObject, formatPathError } from '../spec/object.js';
import { adhocSource } from '../state/adhoc.js';
import { imageResolver } from '../image/resolve.js';
import { resolveImageRefs } from '../spec/imageRef.js';
import { createLogger } from '../log/logger.js';
import { adhocContext } from './adhocCommand.js';
import { formatCliError, GLOBAL_HELP, GLOBAL_OPTIONS, parseCommand, UsageError } from './options.js';
import { imageOf, runSpec, type RunFlags } from './runSpec.js';

export const RUN_HELP = `Usage: pocker run [OPTIONS] IMAGE [COMMAND [ARG...]]
       pocker run [OPTIONS] LAYERDIR COMMAND [ARG...]

Creates and starts a container now, from flags instead of a spec file, through the same code a
spec goes through. Without -d it stays attached: its output is printed (and logged), and pocker
exits with the command's exit status (128+N when it was killed by signal N; 125 when it could not
be started). IMAGE is a registry reference with Docker's defaults (nginx, nginx:1.27,
ghcr.io/o/app:2, host:5000/app@sha256:...), pulled when the store lacks it (an image imported
with pocker image import --name NAME:TAG is found under that name); it runs what the image says
(Entrypoint, Cmd, Env, WorkingDir, User), COMMAND [ARG...] replacing its Cmd and --entrypoint its
Entrypoint, as Docker does. A path starting with "/" or "." is a layer directory used as the whole
root filesystem, with COMMAND as the whole argv.
Containers of pocker run are ad hoc: listed by pocker ps (SOURCE "pocker run"), never touched by
reconcile passes; manage them with pocker stop|start|rm NAME. Their records live in the data dir:
after a reboot they are there, stopped, for pocker start or pocker rm.

Options:
  -d, --detach             start it and return (prints the name)
      --entrypoint PROGRAM replace the image's Entrypoint (and drop its Cmd)
      --pull POLICY        missing (default: pull when the store lacks the image) or never
  -i, --interactive        pass stdin to the command (with -t: through its terminal)
  -t, --tty                give the command a terminal (a pty of the container's own devpts); with
                           -i an interactive shell: pocker run -it IMAGE sh
      --rm                 remove the container when it exits (not with -d)
      --name NAME          container name (a DNS label; default run-<random>)
      --hostname NAME      hostname inside (default: the name)
      --cpus X             CPUs of CFS quota (0.5 = half a CPU)
  -m, --memory SIZE        memory limit (50m, 1g, 512Mi)
      --memory-swap SIZE   memory + swap limit, as Docker: at least --memory, -1 = unlimited swap;
                           unset = no swap
      --cpuset-cpus LIST   CPUs it may run on ("0", "0-1,3")
      --cpu-shares N       relative CPU weight under contention (default 1024)
      --pids-limit N       most processes/threads (default ${DEFAULTS.pids})
      --device-read-bps DEV:RATE, --device-write-bps DEV:RATE
                           I/O bandwidth limit on a host block device (1mb, 10Mi; repeatable)
      --device-read-iops DEV:N, --device-write-iops DEV:N
                           I/O operations per second limit on a host block device
      --network MODE       none (default: loopback only), host, bridge, or a CNI network name
  -p, --publish SPEC       publish a port: [IP:]HOST:CONTAINER[/tcp|udp] (bridge networks)
  -v, --volume SRC:DST     bind mount a host path (SRC:DST:ro read-only)
  -e, --env KEY=VALUE      environment variable (repeatable)
  -w, --workdir DIR        working directory inside
  -u, --user USER[:GROUP]  user the command runs as
      --read-only          mount the root filesystem read-only
      --userns MODE        auto (default: a user namespace of its own, 65536 host ids of the pool
                           in /etc/subuid) or host (root inside is root on the host)

${GLOBAL_HELP}`;

const RUN_OPTIONS = {
  detach: { type: 'boolean', short: 'd' },
  entrypoint: { type: 'string' },
  pull: { type: 'string' },
  interactive: { type: 'boolean', short: 'i' },
  tty: { type: 'boolean', short: 't' },
  rm: { type: 'boolean' },
  name: { type: 'string' },
  hostname: { type: 'string' },
  cpus: { type: 'string' },
  memory: { type: 'string', short: 'm' },
  'memory-swap': { type: 'string' },
  'cpuset-cpus': { type: 'string' },
  'cpu-shares': { type: 'string' },
  'pids-limit': { type: 'string' },
  'device-read-bps': { type: 'string', multiple: true },
  'device-write-bps': { type: 'string', multiple: true },
  'device-read-iops': { type: 'string', multiple: true },
  'device-write-iops': { type: 'string', multiple: true },
  network: { type: 'string' },
  publish: { type: 'string', short: 'p', multiple: true },
  volume: { type: 'string', short: 'v', multiple: true },
  env: { type: 'string', short: 'e', multiple: true },
  workdir: { type: 'string', short: 'w' },
  user: { type: 'string', short: 'u' },
  'read-only': { type: 'boolean' },
  userns: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/**
 * Splits argv at IMAGE: options come before it, everything after it is the command (whose own
 * options must not be read as pocker's).
 */
export function splitAtImage(args: string[], options: NonNullable<ParseArgsConfig['options']>): { head: string[]; tail: string[] } {
  const long = new Set(
    Object.entries(options)
      .filter(([, o]) => o.type === 'string')
      .map(([k]) => k),
  );
  const short = new Set(
    Object.values(options)
      .filter((o) => o.type === 'string' && o.short)
      .map((o) => o.short!),
  );
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '--') return { head: args.slice(0, i), tail: args.slice(i + 1) };
    if (!a.startsWith('-') || a === '-') return { head: args.slice(0, i), tail: args.slice(i) };
    if (a.startsWith('--')) {
      if (!a.includes('=') && long.has(a.slice(2))) i++;
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      if (short.has(a[j]!)) {
        if (j === a.length - 1) i++;
        break;
      }
    }
  }
  return { head: args, tail: [] };
}

const FORWARDED = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

export async function main(args: string[]): Promise<number> {
  const { head, tail } = splitAtImage(args, { ...GLOBAL_OPTIONS, ...RUN_OPTIONS });
  const cmd = parseCommand(head, RUN_OPTIONS);
  const v = cmd.values;
  if (v.help) {
    console.log(RUN_HELP);
    return 0;
  }
  const [imageArg, ...command] = tail;
  if (!imageArg) throw new UsageError('give an image (or a layer dir and a command): pocker run IMAGE [COMMAND...]');
  if (v.pull !== undefined && v.pull !== 'missing' && v.pull !== 'never') throw new UsageError('--pull must be missing or never');
  if (v.detach && v.rm)
    throw new UsageError('--rm needs a foreground run: nothing watches a detached ad-hoc container to remove it (pocker rm it later)');
  if (v.detach && v.interactive) throw new UsageError('-i needs a foreground run (-d leaves nothing attached to read stdin from)');
  const name = v.name ?? `run-${builtins.crypto().randomBytes(4).toString('hex')}`;
  const image = imageOf(imageArg);
  if (typeof image !== 'string' && command.length === 0 && v.entrypoint === undefined)
    throw new UsageError('a layer directory has no image config: give the command (pocker run LAYERDIR COMMAND...)');
  const raw = {
    ...runSpec(name, image, command, v as RunFlags),
    ...(typeof image === 'string' && v.pull !== undefined && { pull: v.pull }),
  };
  const checked = desiredFromObject(raw, name, adhocSource(name));
  if ('errors' in checked) throw new UsageError(checked.errors.map(formatPathError).join('; '));
  const c = adhocContext(cmd, 'pocker run', createLogger(cmd.logLevel));
  const { host } = c;
  const resolve = () => resolveImageRefs([checked.desired], imageArg, imageResolver(host, cmd.dirs.dataDir));
  let resolved = resolve();
  const pending = resolved.specs[0]?.pendingImage;
  if (pending && !resolved.errors.length) {
    try {
      // The registry client is loaded only when there is something to pull.
      const { pullWithProgress } = await import('./pullProgress.js');
      await pullWithProgress(host, cmd.dirs, pending.pull, cmd.config.registries);
    } catch (e) {
      console.error(`pocker run: pull of ${pending.pull} failed: ${formatCliError(e)}`);
      return 125;
    }
    resolved = resolve();
  }
  if (resolved.errors.length) {
    console.error(`pocker run: ${resolved.errors.map((e) => e.message).join('; ')}`);
    return 125;
  }
  const desired = resolved.specs[0]!;

  const { runAdhoc, waitForExit, exitStatusOf, removeAdhoc } = await import('../controller/adhoc.js');
  const attach = v.detach ? undefined : { stdio: [0, 1, 2] as [number, number, number], stdin: !!v.interactive };
  let started;
  try {
    started = await runAdhoc(c, desired, attach);
  } catch (e) {
    console.error(`pocker run: ${formatCliError(e)}`);
    return 125;
  }
  if (v.detach) {
    console.log(name);
    return 0;
  }
  // The monitor relays the terminal; signals meant for the command go to its init, which passes
  // them on; a resized terminal is the monitor's to copy to the pty.
  const forward = (sig: NodeJS.Signals): void => void host.signal(started.init, constants.signals[sig]);
  for (const s of FORWARDED) process.on(s, forward);
  const resize = (): void => void host.signal(started.monitor, constants.signals.SIGWINCH);
  process.on('SIGWINCH', resize);
  const exit = await waitForExit(c, name, started);
  for (const s of FORWARDED) process.off(s, forward);
  process.off('SIGWINCH', resize);
  if (v.rm) await removeAdhoc(c, name, true);
  return exitStatusOf(exit);
}
