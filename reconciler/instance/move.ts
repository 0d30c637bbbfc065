import { join } from 'node:path';
import { observe } from '../observe/observe.js';
import { terminateWorkload } from '../runtime/container.js';
import { detectDriver } from '../cgroups/detect.js';
import { RuntimeError } from '../host/errors.js';
import { gatherFacts } from '../runtime/facts.js';
import type { Host } from '../host/host.js';
import { detachNetwork } from '../network/attach.js';
import { containerPaths, locksDir, type InstanceDirs } from '../state/layout.js';
import { monitorBinary } from '../native.js';
import type { Timeouts } from '../host/timeouts.js';
import { checkInstance, writeInstanceFile } from './identity.js';

/**
 * Moves an instance to another state dir or cgroup parent, on purpose: every container must be
 * stopped (with `stop`, running ones are stopped first, their layers kept, and marked so that the
 * next pass starts them again whatever their restart policy); their cgroups and network
 * attachments under the old directories are released and their records rewritten for the new
 * ones; the data dir's identity is rewritten last. Returns the containers moved.
 */
export async function moveInstance(
  host: Host,
  from: InstanceDirs,
  to: InstanceDirs,
  o: { stop: boolean; timeouts: Timeouts },
): Promise<string[]> {
  checkInstance(host, from, false);
  const driver = detectDriver(host, from.cgroupParent);
  detectDriver(host, to.cgroupParent);
  const actual = observe(host, from, driver);
  const running = [...actual.containers.values()].filter((a) => a.initAlive || driver.procs(a.name, host).length);
  if (running.length && !o.stop) {
    throw new RuntimeError(
      'RUNNING',
      `containers ${running.map((a) => a.name).join(', ')} are running: stop them (pass --stop, which keeps their writable layers) before the instance moves`,
    );
  }
  const ctx = { host, driver, dirs: from, facts: gatherFacts(host, driver), monitorBinary: monitorBinary(), timeouts: o.timeouts };
  const moved: string[] = [];
  for (const a of actual.containers.values()) {
    if (!a.record || a.foreign) continue;
    const release = await host.lock(join(locksDir(from), a.name), o.timeouts.lockMs);
    try {
      const wasRunning = running.includes(a);
      if (wasRunning) await terminateWorkload(ctx, a, a.record.spec.stopGracePeriodMs);
      await driver.remove(a.name, host);
      await detachNetwork(host, from, a.name, o.timeouts);
      const paths = containerPaths(from, a.name);
      host.removeTree(paths.stateDir);
      // A container stopped for the move starts again at the next pass, as after a reboot.
      if (wasRunning) host.removeFile(paths.exit);
      const record = { ...a.record, phase: 'created' as const, instance: to, ...(wasRunning && { bootId: 'moved' }) };
      host.writeFileDurable(paths.record, `${JSON.stringify(record)}\n`, 0o600);
      moved.push(a.name);
    } finally {
      release();
    }
  }
  writeInstanceFile(host, to);
  driver.removeParentIfEmpty(host);
  return moved;
}
