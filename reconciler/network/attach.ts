import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';
import { RuntimeError } from '../runtime/errors.js';
import { faultPoint } from '../runtime/faults.js';
import type { ContainerSpec } from '../spec/types.js';
import { netnsDir, networkPaths, type InstanceDirs } from '../state/layout.js';
import { collidingRoutes, formatIpv4, parseCidr, parseProcRoutes } from './cidr.js';
import { checkPlugins, cniAdd, cniDel, type Attachment, type CniResult } from './cni.js';
import { bridgeOf, hostLocalDir, loadNetwork, reservations, type CniConflist, type NetworkOptions } from './conflist.js';
import { etcFiles } from './etcFiles.js';
import { sweepNatRules } from './natSweep.js';

/** The container's interface inside its namespace. */
const IFNAME = 'eth0';

/**
 * What a bridge container's attachment is, kept in `<state-dir>/<name>/network.json`: written
 * before CNI ADD (so a controller killed during ADD leaves what DEL needs) and again with the
 * result. DEL uses the conflist recorded here, not the one in the config dir now.
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

export function readNetworkRecord(path: string): NetworkRecord | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as NetworkRecord;
  } catch {
    return null;
  }
}

function writeNetworkRecord(path: string, rec: NetworkRecord): void {
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify(rec), { mode: 0o600 });
  renameSync(tmp, path);
}

/** Refuses a bridge subnet that overlaps a host route (other than the bridge's own). */
function checkRoutes(conf: CniConflist): void {
  const b = bridgeOf(conf);
  if (!b) return;
  const routes = parseProcRoutes(readFileSync('/proc/net/route', 'utf8'));
  for (const s of b.subnets) {
    const net = parseCidr(s);
    if ('error' in net) throw new RuntimeError('NETWORK', `CNI network "${conf.name}": subnet ${net.error}`);
    const hit = collidingRoutes(net, routes, b.bridge);
    if (hit.length) {
      const r = hit[0]!;
      throw new RuntimeError('NETWORK', `CNI network "${conf.name}": subnet ${s} overlaps the host route ${formatIpv4(r.net.addr)}/${r.net.prefix} on ${r.iface}; choose another subnet (--subnet, or edit the conflist)`);
    }
  }
}

/**
 * Whether host-local still holds an address for this container id: its reservations live on disk
 * (/var/lib/cni/networks survives a reboot that emptied the state dir), and a new ADD would take a
 * second address. The next attach then runs DEL first, which CNI defines as idempotent.
 */
function staleAllocation(conf: CniConflist, containerId: string): boolean {
  const dir = hostLocalDir(conf);
  return !!dir && reservations(dir).some((f) => {
    try {
      return readFileSync(join(dir, f), 'utf8').split(/\r?\n/)[0]!.trim() === containerId;
    } catch {
      return false;
    }
  });
}

/** What the monitor needs for a bridge container: the namespace to join and the /etc files to bind. */
export interface AttachedNetwork {
  netns: string;
  binds: Array<{ source: string; target: string }>;
}

/**
 * Attaches a bridge container: pins a new network namespace, CNI ADD, writes its /etc files.
 * An attachment that a restart finds in place is reused (same address).
 */
export async function attachNetwork(dirs: InstanceDirs, spec: ContainerSpec, opts: NetworkOptions, hostResolvConf: string | null): Promise<AttachedNetwork> {
  const paths = networkPaths(dirs, spec.name);
  const existing = readNetworkRecord(paths.record);
  if (!(existing?.result && existing.address && existsSync(paths.netns))) {
    if (existing) await detachNetwork(dirs, spec.name);
    const conflist = loadNetwork(spec.network.name, opts);
    checkPlugins(conflist, opts.binDir);
    checkRoutes(conflist);
    const containerId = cniContainerId(dirs, spec.name);
    if (staleAllocation(conflist, containerId)) {
      await cniDel(conflist, opts.binDir, { containerId, netns: '', ifname: IFNAME, runtimeConfig: {} }).catch(() => undefined);
      sweepNatRules(containerId);
    }
    const rec: NetworkRecord = {
      network: conflist.name,
      conflist,
      binDir: opts.binDir,
      containerId,
      netns: paths.netns,
      runtimeConfig: { portMappings: spec.network.ports.map((p) => ({ hostPort: p.host, containerPort: p.container, protocol: p.protocol, ...(p.hostIP && { hostIP: p.hostIP }) })) },
    };
    writeNetworkRecord(paths.record, rec);
    mkdirSync(netnsDir(dirs), { recursive: true, mode: 0o700 });
    native().netnsPin(paths.netns);
    const result = await cniAdd(conflist, opts.binDir, attachmentOf(rec));
    faultPoint('create:cni-added', spec.name);
    const address = result.ips?.[0]?.address.split('/')[0];
    if (!address) {
      await detachNetwork(dirs, spec.name);
      throw new RuntimeError('NETWORK', `CNI ADD of network "${conflist.name}" gave ${spec.name} no IP address`);
    }
    const hostVeth = result.interfaces?.find((i) => !i.sandbox && i.name !== bridgeOf(conflist)?.bridge)?.name;
    writeNetworkRecord(paths.record, { ...rec, result, address, ...(hostVeth && { hostVeth }) });
  }
  const rec = readNetworkRecord(paths.record)!;
  const files = etcFiles(spec.hostname, rec.address!, hostResolvConf);
  mkdirSync(paths.etcDir, { recursive: true, mode: 0o755 });
  const binds: AttachedNetwork['binds'] = [];
  for (const [file, text] of [['hostname', files.hostname], ['hosts', files.hosts], ['resolv.conf', files.resolvConf]] as const) {
    writeFileSync(join(paths.etcDir, file), text, { mode: 0o644 });
    binds.push({ source: join(paths.etcDir, file), target: `/etc/${file}` });
  }
  return { netns: paths.netns, binds };
}

function attachmentOf(rec: NetworkRecord): Attachment {
  return { containerId: rec.containerId, netns: existsSync(rec.netns) ? rec.netns : '', ifname: IFNAME, runtimeConfig: rec.runtimeConfig };
}

/**
 * Detaches a container: CNI DEL (releases its address, port mappings and veth) with the
 * conflist recorded at ADD, then unpins its namespace. A namespace pinned without a record (a
 * crash before the record was written) gets its nat rules swept by the container id instead.
 * Idempotent: a second call after a crash half-way does what is left.
 */
export async function detachNetwork(dirs: InstanceDirs, name: string): Promise<void> {
  const paths = networkPaths(dirs, name);
  const rec = readNetworkRecord(paths.record);
  if (rec) {
    const del = (): Promise<unknown> => cniDel(rec.conflist, rec.binDir, attachmentOf(rec), rec.result).then(() => null, (e: unknown) => e);
    let failed = await del();
    if (sweepNatRules(rec.containerId) && failed) failed = await del();
    if (failed) throw failed;
  } else if (existsSync(paths.netns)) {
    sweepNatRules(cniContainerId(dirs, name));
  }
  unpinNetns(paths.netns);
  rmSync(paths.record, { force: true });
}

/** Unmounts and removes a pinned namespace file; quiet when it is not there. */
export function unpinNetns(path: string): void {
  if (!existsSync(path)) return;
  try {
    native().umount(path, true);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EINVAL') throw e;
  }
  rmSync(path, { force: true });
}
