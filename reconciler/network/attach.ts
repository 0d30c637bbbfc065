import type { IdRange } from '../state/userns.js';
import { join } from 'node:path';
import { RuntimeError, describeError } from '../host/errors.js';
import { faultPoint } from '../host/faults.js';
import type { Host, HostReader } from '../host/host.js';
import type { ContainerSpec } from '../spec/types.js';
import { netnsDir, networkPaths, type InstanceDirs } from '../state/layout.js';
import { collidingRoutes, formatIpv4, parseCidr, parseProcRoutes } from './cidr.js';
import { checkPlugins, cniAdd, cniDel, type Attachment, type CniResult } from './cni.js';
import { bridgeOf, hostLocalDir, loadNetwork, reservations, type CniConflist, type NetworkOptions } from './conflist.js';
import { etcFiles, type HostsEntry } from './etcFiles.js';
import { sweepNatRules } from './natSweep.js';

/** The container's interface inside its namespace. */
const IFNAME = 'eth0';

/**
 * What a bridge container's attachment is, kept in `<data-dir>/containers/<name>/network.json`:
 * written before CNI ADD (so a controller killed during ADD leaves what DEL needs) and again with
 * the result. DEL uses the conflist recorded here, not the one in the config dir now.
 */
export interface NetworkRecord {
  network: string;
  conflist: CniConflist;
  binDir: string;
  containerId: string;
  netns: string;
  runtimeConfig: Record<string, unknown>;
  result?: CniResult;
  /** Host side of the veth, from the result: its disappearance means the container lost its network. */
  hostVeth?: string;
  address?: string;
}

/** CNI_CONTAINERID: unique per instance and container (CNI allows letters, digits, _ . -). */
export function cniContainerId(dirs: InstanceDirs, name: string): string {
  return `pocker-${dirs.cgroupParent.replace(/[^a-zA-Z0-9_.-]/g, '_')}-${name}`;
}

/** The attachment record of a container (the data dir's, else where release 1 kept it), or null. */
export function readNetworkRecord(host: HostReader, dirs: InstanceDirs, name: string): NetworkRecord | null {
  const paths = networkPaths(dirs, name);
  for (const path of [paths.record, paths.legacyRecord]) {
    const text = host.readFile(path);
    if (text === null) continue;
    try {
      return JSON.parse(text) as NetworkRecord;
    } catch {
      return null;
    }
  }
  return null;
}

/** Refuses a bridge subnet that overlaps a host route (other than the bridge's own). */
function checkRoutes(host: HostReader, conf: CniConflist): void {
  const b = bridgeOf(conf);
  if (!b) return;
  const routes = parseProcRoutes(host.readFile('/proc/net/route') ?? '');
  for (const s of b.subnets) {
    const net = parseCidr(s);
    if ('error' in net) throw new RuntimeError('NETWORK', `CNI network "${conf.name}": subnet ${net.error}`);
    const hit = collidingRoutes(net, routes, b.bridge);
    if (hit.length) {
      const r = hit[0]!;
      throw new RuntimeError(
        'NETWORK',
        `CNI network "${conf.name}": subnet ${s} overlaps the host route ${formatIpv4(r.net.addr)}/${r.net.prefix} on ${r.iface}; choose another subnet (--subnet, or edit the conflist)`,
      );
    }
  }
}

/** The host-local reservation files of this network that hold an address for this container id. */
function reservedFor(host: HostReader, conf: CniConflist, containerId: string): string[] {
  const dir = hostLocalDir(conf);
  if (!dir) return [];
  return reservations(host, dir)
    .map((f) => join(dir, f))
    .filter((path) => (host.readFile(path) ?? '').split(/\r?\n/)[0]!.trim() === containerId);
}

/** What the monitor needs for a bridge container: the namespace to join and the /etc files to bind. */
export interface AttachedNetwork {
  netns: string;
  binds: Array<{ source: string; target: string }>;
}

/** How long one CNI plugin may run. */
export interface CniTimeouts {
  cniMs: number;
}

/**
 * Attaches a bridge container: pins a new network namespace, CNI ADD, writes its /etc files.
 * An attachment a restart finds whole (its namespace and veth still there) is reused: same
 * address; otherwise what is left of it is released first.
 */
export async function attachNetwork(
  host: Host,
  dirs: InstanceDirs,
  spec: ContainerSpec,
  opts: NetworkOptions,
  timeouts: CniTimeouts,
  peers: readonly HostsEntry[] = [],
  userns?: IdRange,
): Promise<AttachedNetwork> {
  const paths = networkPaths(dirs, spec.name);
  const existing = readNetworkRecord(host, dirs, spec.name);
  const whole =
    !!existing?.result &&
    !!existing.address &&
    host.kind(paths.netns) === 'file' &&
    (!existing.hostVeth || host.lkind(`/sys/class/net/${existing.hostVeth}`) !== null);
  if (!whole) {
    if (existing || host.kind(paths.netns) !== null) await detachNetwork(host, dirs, spec.name, timeouts);
    const conflist = loadNetwork(host, spec.network.name, opts);
    checkPlugins(host.cni, conflist, opts.binDir);
    checkRoutes(host, conflist);
    const containerId = cniContainerId(dirs, spec.name);
    if (reservedFor(host, conflist, containerId).length) {
      // host-local keeps its reservations on disk (they survive a reboot); DEL first, as CNI allows.
      await cniDel(host.cni, conflist, opts.binDir, { containerId, netns: '', ifname: IFNAME, runtimeConfig: {} }, timeouts.cniMs).catch(
        () => undefined,
      );
      sweepNatRules(host.net, containerId);
      for (const f of reservedFor(host, conflist, containerId)) host.removeFile(f);
    }
    const rec: NetworkRecord = {
      network: conflist.name,
      conflist,
      binDir: opts.binDir,
      containerId,
      netns: paths.netns,
      runtimeConfig: {
        portMappings: spec.network.ports.map((p) => ({
          hostPort: p.host,
          containerPort: p.container,
          protocol: p.protocol,
          ...(p.hostIP && { hostIP: p.hostIP }),
        })),
      },
    };
    host.mkdir(join(paths.record, '..'), 0o700);
    host.writeFileDurable(paths.record, JSON.stringify(rec), 0o600);
    host.mkdir(netnsDir(dirs), 0o700);
    host.pinNetns(paths.netns, userns);
    const result = await cniAdd(host.cni, conflist, opts.binDir, attachmentOf(host, rec), timeouts.cniMs);
    faultPoint('create:cni-added', spec.name);
    const address = result.ips?.[0]?.address.split('/')[0];
    if (!address) {
      await detachNetwork(host, dirs, spec.name, timeouts);
      throw new RuntimeError('NETWORK', `CNI ADD of network "${conflist.name}" gave ${spec.name} no IP address`);
    }
    const hostVeth = result.interfaces?.find((i) => !i.sandbox && i.name !== bridgeOf(conflist)?.bridge)?.name;
    host.writeFileDurable(paths.record, JSON.stringify({ ...rec, result, address, ...(hostVeth && { hostVeth }) }), 0o600);
  }
  const rec = readNetworkRecord(host, dirs, spec.name)!;
  const files = etcFiles(
    spec.hostname,
    rec.address!,
    host.readFile('/etc/resolv.conf'),
    [spec.name, ...spec.network.aliases],
    peers.filter((p) => p.container !== spec.name),
  );
  host.mkdir(paths.etcDir, 0o755);
  const binds: AttachedNetwork['binds'] = [];
  for (const [file, text] of [
    ['hostname', files.hostname],
    ['hosts', files.hosts],
    ['resolv.conf', files.resolvConf],
  ] as const) {
    host.writeFileAtomic(join(paths.etcDir, file), text, 0o644);
    binds.push({ source: join(paths.etcDir, file), target: `/etc/${file}` });
  }
  return { netns: paths.netns, binds };
}

function attachmentOf(host: HostReader, rec: NetworkRecord): Attachment {
  return {
    containerId: rec.containerId,
    netns: host.kind(rec.netns) === 'file' ? rec.netns : '',
    ifname: IFNAME,
    runtimeConfig: rec.runtimeConfig,
  };
}

/**
 * Detaches a container, always to the end, and says what it could not release. CNI DEL (with the
 * conflist recorded at ADD) releases its address, port mappings and veth; DEL is best effort (the
 * CNI spec's own rule), so when a plugin is gone, fails or hangs pocker releases what it can
 * itself: the nat rules tagged with the container's id, host-local's reservations for it, and
 * the pinned namespace (its veth goes with it). Idempotent: a second call after a crash half-way
 * does what is left. Returns the problems met (empty when everything went as the plugins said).
 */
export async function detachNetwork(host: Host, dirs: InstanceDirs, name: string, timeouts: CniTimeouts): Promise<string[]> {
  const paths = networkPaths(dirs, name);
  const rec = readNetworkRecord(host, dirs, name);
  const problems: string[] = [];
  if (rec) {
    const del = (): Promise<unknown> =>
      cniDel(host.cni, rec.conflist, rec.binDir, attachmentOf(host, rec), timeouts.cniMs, rec.result).then(
        () => null,
        (e: unknown) => e,
      );
    let failed = await del();
    if (sweepNatRules(host.net, rec.containerId) && failed) failed = await del();
    if (failed) {
      const released: string[] = [];
      const nat = sweepNatRules(host.net, rec.containerId);
      if (nat) released.push(`${nat} nat rule(s)`);
      for (const f of reservedFor(host, rec.conflist, rec.containerId)) {
        try {
          host.removeFile(f);
          released.push(`address reservation ${f}`);
        } catch (e) {
          problems.push(`could not remove the address reservation ${f}: ${describeError(e)}`);
        }
      }
      problems.push(
        `${describeError(failed)}; released ${released.length ? released.join(', ') : 'nothing more'} and its namespace itself`,
      );
    }
  } else if (host.kind(paths.netns) !== null) {
    sweepNatRules(host.net, cniContainerId(dirs, name));
  }
  try {
    unpinNetns(host, paths.netns);
  } catch (e) {
    problems.push(`could not unpin its network namespace ${paths.netns}: ${describeError(e)}`);
  }
  if (rec?.hostVeth && host.lkind(`/sys/class/net/${rec.hostVeth}`) !== null)
    problems.push(`its veth ${rec.hostVeth} is still there (ip link delete ${rec.hostVeth})`);
  host.removeFile(paths.record);
  host.removeFile(paths.legacyRecord);
  return problems;
}

/** Unmounts and removes a pinned namespace file; quiet when it is not there. */
export function unpinNetns(host: Host, path: string): void {
  if (host.lkind(path) === null) return;
  try {
    host.unmount(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  }
  host.removeFile(path);
}
