import type { ContainerSpec } from '../spec/types.js';
import type { PidsRecord } from '../state/records.js';
import type { CgroupPlacement } from '../cgroups/driver.js';
import { DEFAULT_PATH, workloadEnv } from './monitorConfig.js';
import { securityPairs } from './security/policy.js';

/** A command to run inside a running container. */
export interface ExecRequest {
  argv: string[];
  /** Extra environment on top of the workload's. */
  env?: Record<string, string>;
  /** Working directory inside the container (default: the spec's). */
  cwd?: string;
  /** A new pty of the container's devpts for stdin/stdout/stderr. */
  tty?: boolean;
  /** Pass stdin through (otherwise the command reads /dev/null). */
  stdin?: boolean;
}

/**
 * The config of `pocker-monitor exec` (NUL-separated key/value pairs, see native/monitor/exec.c):
 * the same namespaces (its user namespace too when it has one of its own), cgroups, environment,
 * working directory, user, capabilities, no_new_privs and seccomp filter as the workload.
 */
export function execConfig(
  spec: ContainerSpec,
  pids: PidsRecord,
  placement: CgroupPlacement,
  req: ExecRequest,
  ownUserns: boolean,
): Buffer {
  const env = { ...workloadEnv(spec), ...req.env };
  const pairs: Array<[string, string]> = [
    ['init_pid', String(pids.initPid)],
    ['init_start', String(pids.initStart)],
  ];
  for (const ns of ['ipc', 'uts', ...(spec.network.mode === 'host' ? [] : ['net']), 'pid', 'mnt', 'cgroup', ...(ownUserns ? ['user'] : [])])
    pairs.push(['ns', ns]);
  for (const f of placement.taskFiles) pairs.push(['cgroup_tasks', f]);
  if (placement.cgroup2Dir) pairs.push(['cgroup2_dir', placement.cgroup2Dir]);
  pairs.push(...securityPairs(spec));
  for (const [k, v] of Object.entries(env)) pairs.push(['env', `${k}=${v}`]);
  for (const a of req.argv) pairs.push(['arg', a]);
  pairs.push(
    ['path', env.PATH ?? DEFAULT_PATH],
    ['cwd', req.cwd ?? spec.workingDir],
    ['tty', req.tty ? '1' : '0'],
    ['stdin', req.stdin ? '1' : '0'],
  );
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''));
}
