import type { Host } from '../host/host.js';
import { viewFirewall } from '../network/firewallState.js';
import { networkMembers, type NetworkMember } from '../network/names.js';
import type { ActualContainer } from '../observe/types.js';
import type { FirewallView } from '../plan/types.js';
import type { DesiredContainer } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';

/**
 * The firewall tables of the running bridge containers among `desired`, read back from their
 * namespaces and compared with their rules and the addresses of now (what a plan decides on).
 */
export async function firewallViews(
  host: Host,
  dirs: InstanceDirs,
  desired: readonly DesiredContainer[],
  actual: ReadonlyMap<string, ActualContainer>,
  members?: ReadonlyMap<string, readonly NetworkMember[]>,
): Promise<Map<string, FirewallView>> {
  const out = new Map<string, FirewallView>();
  const running = desired.filter((d) => d.spec.network.mode === 'bridge' && actual.get(d.spec.name)?.initAlive);
  if (!running.length) return out;
  const now = members ?? networkMembers(host, dirs);
  await Promise.all(
    running.map(async (d) => {
      const v = await viewFirewall(host, dirs, d.spec.name, d.spec.network, now);
      if (v) out.set(d.spec.name, v);
    }),
  );
  return out;
}

/** The containers whose rules name other containers: their tables follow those containers' addresses. */
export function followingNames(desired: readonly DesiredContainer[]): string[] {
  return desired.filter((d) => [...d.spec.network.ingress, ...d.spec.network.egress].some((r) => 'name' in r.peer)).map((d) => d.spec.name);
}
