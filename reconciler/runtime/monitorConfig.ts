import type { AttachedNetwork } from '../network/attach.js';
import type { ContainerSpec } from '../spec/types.js';
import type { ContainerPaths } from '../state/layout.js';
import type { CgroupPlacement } from '../cgroups/driver.js';
import type { StdioFds } from '../host/host.js';
import type { IdRange } from '../state/userns.js';
import { mountPairs, securityPairs } from './security/policy.js';

/** PATH given to workloads that do not set one (the OCI/Docker default). */
export const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * A user attached to a container it starts (`pocker run` without -d): the monitor gets these fds
 * as its stdin, stdout and stderr and copies the workload's output there besides the log.
 */
export interface Attach {
  stdio: StdioFds;
  /** The workload reads the user's stdin (relayed to its pty with a tty; else given as its stdin). */
  stdin: boolean;
}

/** Log rotation policy the monitor applies. */
export interface LogPolicy {
  maxBytes: number;
  maxFiles: number;
}

/** Default rotation: 10 MiB x 5 files. */
export const DEFAULT_LOG_POLICY: LogPolicy = { maxBytes: 10 * 2 ** 20, maxFiles: 5 };

/** The workload's environment: PATH, HOSTNAME and HOME defaults, then the spec's env on top. */
export function workloadEnv(spec: ContainerSpec): Record<string, string> {
  return { PATH: DEFAULT_PATH, HOSTNAME: spec.hostname, HOME: '/root', ...spec.env };
}

/** What a container's monitor is started with besides the spec. */
export interface MonitorSetup {
  paths: ContainerPaths;
  placement: CgroupPlacement;
  /** Whether a mount source is a directory (the mount point created inside is a dir or an empty file). */
  sourceIsDir: (source: string) => boolean;
  /** The host directory of a named volume (it exists when the monitor starts). */
  volumePath: (name: string) => string;
  /** The host file of a file or secret bound at target (written before the monitor starts). */
  contentPath: (kind: 'file' | 'secret', target: string) => string;
  /** The kernel boot this start belongs to (recorded in pids.json). */
  bootId: string;
  log?: LogPolicy;
  net?: AttachedNetwork;
  attach?: Attach;
  /** The container's own user namespace (absent: the host's). */
  userns?: IdRange;
}

/**
 * What a container's own network namespace lets its root do, which belongs to a host-owned
 * namespace: bind ports below 1024 and open ICMP echo sockets (ping) without host capabilities.
 */
export const USERNS_NET_SYSCTLS = ['net.ipv4.ip_unprivileged_port_start=0', 'net.ipv4.ping_group_range=0 4294967294'];

/**
 * Serializes what the monitor needs as NUL-separated key/value pairs (see native/monitor/config.h).
 * Every decision is made here; the monitor applies it as given.
 */
export function monitorConfig(spec: ContainerSpec, setup: MonitorSetup): Buffer {
  const { paths, placement, sourceIsDir, net, attach, userns } = setup;
  const idmap = userns ? ',idmap' : '';
  const log = setup.log ?? DEFAULT_LOG_POLICY;
  const pairs: Array<[string, string]> = [
    ['name', spec.name],
    ['state_dir', paths.stateDir],
    ['exit_file', paths.exit],
    ['boot_id', setup.bootId],
    ['log_path', paths.log],
    ['log_max_bytes', String(log.maxBytes)],
    ['log_max_files', String(log.maxFiles)],
    ['mkdir_private', paths.dataDir],
    ['mkdir', paths.upper],
    ['mkdir', paths.work],
    ['mkdir', paths.rootfs],
    ['rootfs', paths.rootfs],
    ['upper', paths.upper],
    ['work', paths.work],
  ];
  for (const layer of [...spec.layers].reverse()) pairs.push(['lower', layer]);
  pairs.push(['hostname', spec.hostname], ['new_net', spec.network.mode === 'host' ? '0' : '1']);
  if (net) pairs.push(['netns', net.netns]);
  if (userns) {
    pairs.push(['userns', `${userns.uid} ${userns.gid} ${userns.size}`]);
    if (spec.network.mode !== 'host') for (const s of USERNS_NET_SYSCTLS) pairs.push(['sysctl', s]);
  }
  for (const f of placement.taskFiles) pairs.push(['cgroup_tasks', f]);
  if (placement.cgroup2Dir) pairs.push(['cgroup2_dir', placement.cgroup2Dir]);
  for (const f of placement.monitorTaskFiles) pairs.push(['monitor_tasks', f]);
  if (placement.monitorCgroup2Dir) pairs.push(['monitor_cgroup2_dir', placement.monitorCgroup2Dir]);
  pairs.push(['oom_file', placement.oomFile]);
  for (const m of spec.mounts) {
    pairs.push(
      ['bind_src', m.source],
      ['bind_dst', m.target],
      ['bind_flags', `${m.readOnly ? 'ro' : 'rw'},${sourceIsDir(m.source) ? 'dir' : 'file'}${m.idmap ? idmap : ''}`],
    );
  }
  for (const v of spec.volumes) {
    pairs.push(['bind_src', setup.volumePath(v.name)], ['bind_dst', v.target], ['bind_flags', `${v.readOnly ? 'ro' : 'rw'},dir${idmap}`]);
  }
  for (const f of spec.files)
    pairs.push(['bind_src', setup.contentPath('file', f.target)], ['bind_dst', f.target], ['bind_flags', 'ro,file']);
  for (const s of spec.secrets)
    pairs.push(['bind_src', setup.contentPath('secret', s.target)], ['bind_dst', s.target], ['bind_flags', 'ro,file']);
  const owner = userns ? `,uid=${userns.uid},gid=${userns.gid}` : '';
  for (const t of spec.tmpfs) pairs.push(['tmpfs_dst', t.target], ['tmpfs_data', `size=${t.sizeBytes},mode=${t.mode.toString(8)}${owner}`]);
  for (const b of net?.binds ?? []) pairs.push(['bind_src', b.source], ['bind_dst', b.target], ['bind_flags', 'ro,file']);
  pairs.push(...mountPairs(spec), ...securityPairs(spec));
  const env = workloadEnv(spec);
  for (const [k, v] of Object.entries(env)) pairs.push(['env', `${k}=${v}`]);
  for (const arg of spec.command) pairs.push(['arg', arg]);
  pairs.push(['path', env.PATH ?? DEFAULT_PATH], ['cwd', spec.workingDir]);
  if (spec.tty) pairs.push(['tty', '1']);
  if (attach) pairs.push(['attach', '1'], ['stdin', attach.stdin ? '1' : '0']);
  return Buffer.from(pairs.map(([k, v]) => `${k}\0${v}\0`).join(''));
}
