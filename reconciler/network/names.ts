import { join } from 'node:path';
import type { Host, HostReader } from '../host/host.js';
import { isContainerName } from '../spec/names.js';
import { containerPaths, containersDataDir, networkPaths, type InstanceDirs } from '../state/layout.js';
import { parseContainerRecord, parsePidsRecord } from '../state/records.js';
import { readNetworkRecord } from './attach.js';
import { hostsFile } from './etcFiles.js';

/** One running container on a bridge network: its address and every name the others resolve it by. */
export interface NetworkMember {
  container: string;
  network: string;
  address: string;
  /** Its container name, hostname and aliases, without repeats. */
  names: string[];
}

/**
 * Every running container of the instance on a bridge network, by network: the one source of
 * name-to-address facts (the /etc/hosts files, and later firewall rules that name containers).
 * A container counts while its init runs; a stopped, exited or removed one resolves no more.
 */
export function networkMembers(host: HostReader, dirs: InstanceDirs): Map<string, NetworkMember[]> {
  const out = new Map<string, NetworkMember[]>();
  for (const name of (host.readDir(containersDataDir(dirs)) ?? []).filter(isContainerName).sort()) {
    const net = readNetworkRecord(host, dirs, name);
    if (!net?.address) continue;
    const paths = containerPaths(dirs, name);
    const pidsText = host.readFile(paths.pids);
    const pids = pidsText ? parsePidsRecord(pidsText) : null;
    if (!pids || !('value' in pids) || host.procStartTime(pids.value.initPid) !== pids.value.initStart) continue;
    const recText = host.readFile(paths.record);
    const rec = recText ? parseContainerRecord(recText) : null;
    if (!rec || !('value' in rec)) continue;
    const spec = rec.value.spec;
    const names = [...new Set([spec.hostname, name, ...(spec.network.aliases ?? [])])];
    const list = out.get(net.network) ?? [];
    list.push({ container: name, network: net.network, address: net.address, names });
    out.set(net.network, list);
  }
  return out;
}

/**
 * Brings every running bridge container's /etc/hosts up to date with the members of its network
 * (only those of `network` when given). The file is rewritten in place (same inode): it is
 * bind-mounted read-only into the container, and a rename would leave the mount on the old file.
 * Returns the containers whose file changed.
 */
export function refreshHosts(host: Host, dirs: InstanceDirs, network?: string): string[] {
  const changed: string[] = [];
  for (const [net, members] of networkMembers(host, dirs)) {
    if (network !== undefined && net !== network) continue;
    for (const m of members) {
      const path = join(networkPaths(dirs, m.container).etcDir, 'hosts');
      const text = hostsFile(
        m,
        members.filter((o) => o !== m),
      );
      if (host.readFile(path) === text) continue;
      host.writeFileInPlace(path, text);
      changed.push(m.container);
    }
  }
  return changed;
}
