import { join } from 'node:path';
import { observeContainer } from '../observe/observe.js';
import type { CgroupDriver } from '../runtime/cgroups/driver.js';
import { removeDataDir } from '../runtime/container.js';
import { describeError } from '../runtime/errors.js';
import type { Host } from '../runtime/host.js';
import { containerPaths, locksDir, type InstanceDirs } from '../state/layout.js';
import { detachNetwork } from '../network/attach.js';
import type { Logger } from '../log/logger.js';

/**
 * Removes what containers that no longer exist left behind: a cgroup, a writable layer, a pinned
 * network namespace (with CNI DEL when its attachment record is there) or an empty state dir with no record (after a reboot emptied /run, or a removal cut short). Each
 * name is re-checked under its lock, so a container being created right now is never touched.
 */
export async function collectLeftovers(host: Host, dirs: InstanceDirs, driver: CgroupDriver, names: readonly string[], log: Logger): Promise<string[]> {
  const removed: string[] = [];
  for (const name of names) {
    const release = await host.lock(join(locksDir(dirs), name));
    try {
      if (observeContainer(host, dirs, driver, name)) continue;
      const paths = containerPaths(dirs, name);
      await driver.remove(name, host);
      await detachNetwork(dirs, name);
      removeDataDir(host, paths);
      host.removeTree(paths.stateDir);
      removed.push(name);
      log.info({ container: name, action: 'gc' }, `removed what container ${name} left behind`);
    } catch (e) {
      log.error({ container: name, action: 'gc', error: describeError(e) }, `could not remove leftovers of ${name}: ${describeError(e)}`);
    } finally {
      release();
    }
  }
  return removed;
}
