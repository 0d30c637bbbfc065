import type { ContainerSpec } from '../spec/types.js';
import type { ContainerPaths } from '../state/layout.js';
import { workloadEnv } from './monitorConfig.js';

/** Most entries of one list the monitor takes (native/monitor/config.h MAX_LIST): env, arguments, layers, mounts. */
export const MONITOR_MAX_LIST = 256;

/** Longest argument or environment string execve takes, with its terminating NUL (MAX_ARG_STRLEN). */
export const MAX_ARG_STRLEN = 131_072;

/** The overlay mount's options must fit in one page (the monitor's buffer is as big). */
export const OVERLAY_OPTIONS_MAX = 4096;

const POINTER_BYTES = 8;

/** execve's limit on argument and environment bytes for a stack size limit (fs/exec.c: a quarter of it, within 128 KiB .. 6 MiB). */
export function argMaxFor(stackLimitBytes: number): number {
  return Math.max(128 * 1024, Math.min(6 * 1024 * 1024, Math.floor(stackLimitBytes / 4)));
}

/**
 * What the kernel or the monitor would refuse at start in the sizes of a spec: too many list
 * entries, an argument or variable longer than execve takes, argv + env over the host's limit,
 * overlay options over one page. Pure: checked before a recreate stops the old container.
 */
export function startSizeProblems(spec: ContainerSpec, paths: ContainerPaths, argMax: number, extraBinds = 0): string[] {
  const problems: string[] = [];
  const env = Object.entries(workloadEnv(spec)).map(([k, v]) => `${k}=${v}`);
  if (env.length > MONITOR_MAX_LIST)
    problems.push(`env has ${env.length} entries (with PATH, HOSTNAME and HOME): the monitor takes at most ${MONITOR_MAX_LIST}`);
  if (spec.command.length > MONITOR_MAX_LIST)
    problems.push(`command has ${spec.command.length} arguments: the monitor takes at most ${MONITOR_MAX_LIST}`);
  const binds = spec.mounts.length + spec.volumes.length + spec.files.length + spec.secrets.length + extraBinds;
  if (binds > MONITOR_MAX_LIST)
    problems.push(
      `mounts: ${binds} bind mounts (with volumes, files, secrets and the network's /etc files): the monitor takes at most ${MONITOR_MAX_LIST}`,
    );
  if (spec.layers.length > MONITOR_MAX_LIST)
    problems.push(`the image has ${spec.layers.length} layers: the monitor takes at most ${MONITOR_MAX_LIST}`);
  const bytes = (s: string): number => Buffer.byteLength(s) + 1;
  spec.command.forEach((a, i) => {
    if (bytes(a) > MAX_ARG_STRLEN)
      problems.push(`command[${i}] is ${bytes(a) - 1} bytes long: the kernel takes at most ${MAX_ARG_STRLEN - 1}`);
  });
  for (const e of env)
    if (bytes(e) > MAX_ARG_STRLEN)
      problems.push(
        `env ${e.slice(0, e.indexOf('='))} is ${bytes(e) - 1} bytes long (as NAME=value): the kernel takes at most ${MAX_ARG_STRLEN - 1}`,
      );
  const total = [...spec.command, ...env].reduce((n, s) => n + bytes(s) + POINTER_BYTES, 0);
  if (total > argMax)
    problems.push(`command and env need ${total} bytes: the kernel takes at most ${argMax} (a quarter of the stack size limit)`);
  const overlay = `lowerdir=${spec.layers.join(':')},upperdir=${paths.upper},workdir=${paths.work}`;
  if (Buffer.byteLength(overlay) >= OVERLAY_OPTIONS_MAX)
    problems.push(
      `the overlay options (${spec.layers.length} layer paths) are ${Buffer.byteLength(overlay)} bytes: the kernel takes one page (${OVERLAY_OPTIONS_MAX})`,
    );
  return problems;
}
