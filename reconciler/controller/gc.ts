import { join } from 'node:path';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../host/timeouts.js';
import { observeContainer } from '../observe/observe.js';
import type { Stranger } from '../observe/types.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { removeDataDir } from '../runtime/container.js';
import { describeError } from '../host/errors.js';
import type { Host } from '../host/host.js';
import { containerPaths, locksDir, type InstanceDirs } from '../state/layout.js';
import { layerHasContent } from '../state/layerContent.js';
import { detachNetwork } from '../network/attach.js';
import type { Logger } from '../log/logger.js';

/**
 * Removes what containers of this instance that no longer exist left of this instance's own:
 * state files, a pinned network namespace (with CNI DEL when its attachment record is there),
 * an empty data dir. Never a process, a cgroup, or a writable layer or log with content: those
 * may be alive or another instance's (see observe's strangers). Each name is re-checked under its
 * lock, so a container being created right now is never touched.
 */
export async function collectLeftovers(
  host: Host,
  dirs: InstanceDirs,
  driver: CgroupDriver,
  names: readonly string[],
  log: Logger,
  timeouts: Timeouts = DEFAULT_TIMEOUTS,
): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    let release: (() => void) | undefined;
    try {
      release = await host.lock(join(locksDir(dirs), name), timeouts.lockMs);
      if (observeContainer(host, dirs, driver, name)) continue;
      if (driver.procs(name, host).length) continue;
      const paths = containerPaths(dirs, name);
      for (const p of await detachNetwork(host, dirs, name, timeouts)) log.warn({ container: name, action: 'gc' }, `${name}: ${p}`);
      host.removeTree(paths.stateDir);
      if (!layerHasContent(host, paths)) removeDataDir(host, paths);
      removed.push(name);
      log.info({ container: name, action: 'gc' }, `removed what container ${name} left behind`);
    } catch (e) {
      log.error({ container: name, action: 'gc', error: describeError(e) }, `could not remove leftovers of ${name}: ${describeError(e)}`);
    } finally {
      release?.();
    }
  }
  return removed;
}

/**
 * Reports what observation found that no record of this instance explains, once per name and
 * message for a long-lived controller (pass `seen`), every time for a one-off pass.
 */
export function reportStrangers(strangers: readonly Stranger[], log: Logger, seen?: Set<string>): void {
  for (const s of strangers) {
    const key = `${s.name}\0${s.message}`;
    if (seen?.has(key)) continue;
    seen?.add(key);
    log.warn({ container: s.name }, s.message);
  }
}
