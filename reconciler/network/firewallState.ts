import { join } from 'node:path';
import type { Host, HostReader } from '../host/host.js';
import { describeError, RuntimeError } from '../host/errors.js';
import type { NetworkSpec } from '../spec/types.js';
import { containerPaths, networkPaths, type InstanceDirs } from '../state/layout.js';
import { FIREWALL_TABLE, firewallScript, hasFirewall, scriptDiff, scriptHash, tableFingerprint } from './firewall.js';
import type { NetworkMember } from './names.js';
import type { FirewallView } from '../plan/types.js';

/** What pocker last applied inside a container's namespace (`<data-dir>/containers/NAME/firewall.json`). */
export interface FirewallRecord {
  script: string;
  hash: string;
  /** The table as nft listed it right after (null: no table). */
  fingerprint: string | null;
}

function recordPath(dirs: InstanceDirs, name: string): string {
  return join(containerPaths(dirs, name).dataDir, 'firewall.json');
}

function readRecord(host: HostReader, dirs: InstanceDirs, name: string): FirewallRecord | null {
  const text = host.readFile(recordPath(dirs, name));
  if (!text) return null;
  try {
    const r = JSON.parse(text) as FirewallRecord;
    return typeof r.script === 'string' && typeof r.hash === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** The name servers of a bridge container's resolv.conf (what egress rules always let DNS reach). */
function nameservers(host: HostReader, dirs: InstanceDirs, name: string): string[] {
  const text = host.readFile(join(networkPaths(dirs, name).etcDir, 'resolv.conf')) ?? '';
  return text
    .split('\n')
    .map((l) => /^\s*nameserver\s+(\d+\.\d+\.\d+\.\d+)\s*$/.exec(l)?.[1])
    .filter((a): a is string => !!a);
}

/** Resolves container names to their addresses on every bridge network, from the members there are now. */
export function resolverOf(members: ReadonlyMap<string, readonly NetworkMember[]>): (name: string) => string[] {
  const byName = new Map<string, string[]>();
  for (const list of members.values()) for (const m of list) for (const n of m.names) byName.set(n, [...(byName.get(n) ?? []), m.address]);
  return (n) => byName.get(n) ?? [];
}

/** The script a container's rules give now. */
export function wantedScript(
  host: HostReader,
  dirs: InstanceDirs,
  name: string,
  net: Pick<NetworkSpec, 'ingress' | 'egress'>,
  members: ReadonlyMap<string, readonly NetworkMember[]>,
): string {
  return firewallScript(net, resolverOf(members), nameservers(host, dirs, name));
}

async function liveFingerprint(host: Host, netns: string): Promise<{ fingerprint: string | null } | { error: string }> {
  const r = await host.firewall.list(netns, FIREWALL_TABLE);
  if (r.ok) {
    try {
      return { fingerprint: tableFingerprint(r.out) };
    } catch (e) {
      return { error: `nft listing is not JSON: ${describeError(e)}` };
    }
  }
  return r.missing ? { fingerprint: null } : { error: r.out };
}

/**
 * Compares a running bridge container's table with its rules (reading the table back from its
 * namespace), or null when there is nothing to compare: no rules and nothing applied, or no namespace.
 */
export async function viewFirewall(
  host: Host,
  dirs: InstanceDirs,
  name: string,
  net: NetworkSpec,
  members: ReadonlyMap<string, readonly NetworkMember[]>,
): Promise<FirewallView | null> {
  const applied = readRecord(host, dirs, name);
  if (net.mode !== 'bridge' || (!hasFirewall(net) && !applied?.fingerprint)) return null;
  const netns = networkPaths(dirs, name).netns;
  if (host.kind(netns) !== 'file') return null;
  const script = wantedScript(host, dirs, name, net, members);
  const hash = scriptHash(script);
  const now = await liveFingerprint(host, netns);
  const live =
    'error' in now
      ? 'unreadable'
      : now.fingerprint === (applied?.fingerprint ?? null)
        ? 'as-applied'
        : now.fingerprint === null
          ? 'missing'
          : 'drifted';
  let diff = '';
  if (applied?.hash !== hash) {
    const lines = scriptDiff(applied?.script ?? '', script);
    diff = `firewall rules: ${lines.length ? lines.join('; ') : 'addresses or name servers changed'}`;
  } else if (live === 'drifted') diff = 'firewall table edited inside the container namespace: restoring it';
  else if (live === 'missing') diff = 'firewall table gone from the container namespace: restoring it';
  else if (live === 'unreadable') diff = `firewall table cannot be read back (${'error' in now ? now.error : ''}): applying it again`;
  return { script, diff };
}

/** Whether a start must set the container's table: it has rules, or had some applied (its namespace may still hold them). */
export function firewallToSet(host: HostReader, dirs: InstanceDirs, name: string, net: NetworkSpec): boolean {
  return net.mode === 'bridge' && (hasFirewall(net) || readRecord(host, dirs, name) !== null);
}

/**
 * Makes a bridge container's table what its rules say (atomically), reads it back and records
 * what was applied. Throws NETWORK, naming nft's message, when nft refuses; the namespace is then
 * as it was (a transaction applies whole or not at all).
 */
export async function applyFirewall(host: Host, dirs: InstanceDirs, name: string, script: string): Promise<void> {
  const netns = networkPaths(dirs, name).netns;
  const r = await host.firewall.apply(netns, script);
  if (!r.ok)
    throw new RuntimeError('NETWORK', `nft -f in the network namespace of ${name} (${netns}): ${r.out}`, { container: name, path: netns });
  const now = await liveFingerprint(host, netns);
  const fingerprint = 'error' in now ? null : now.fingerprint;
  host.writeFileAtomic(recordPath(dirs, name), `${JSON.stringify({ script, hash: scriptHash(script), fingerprint })}\n`, 0o600);
}
