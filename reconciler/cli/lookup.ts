import { observe, observeContainer } from '../observe/observe.js';
import type { ActualContainer, ActualSet } from '../observe/types.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { detectDriver } from '../cgroups/detect.js';
import { NodeHost } from '../host/nodeHost.js';
import type { InstanceDirs } from '../state/layout.js';
import { UsageError } from './options.js';
import { isContainerName } from '../spec/names.js';
import { checkInstance } from '../instance/identity.js';

/** One container of the instance, with the host and the driver of its cgroup parent. */
export interface Found {
  host: NodeHost;
  driver: CgroupDriver;
  actual: ActualContainer;
}

/** The real host and the cgroup driver of an instance whose data dir agrees with its flags (read-only commands). */
function openInstance(dirs: InstanceDirs): { host: NodeHost; driver: CgroupDriver } {
  const host = new NodeHost();
  checkInstance(host, dirs, false);
  return { host, driver: detectDriver(host, dirs.cgroupParent) };
}

/** Every container of the instance, observed once (ps, stats). */
export function observeInstance(dirs: InstanceDirs): { host: NodeHost; driver: CgroupDriver; actual: ActualSet } {
  const { host, driver } = openInstance(dirs);
  return { host, driver, actual: observe(host, dirs, driver) };
}

/** Finds a container by name or fails with a clear message. */
export function findContainer(dirs: InstanceDirs, name: string | undefined): Found {
  if (!name) throw new UsageError('name a container');
  if (!isContainerName(name)) throw new UsageError(`"${name}" is not a container name`);
  const { host, driver } = openInstance(dirs);
  const actual = observeContainer(host, dirs, driver, name);
  if (!actual) throw Object.assign(new Error(`no container "${name}" in ${dirs.dataDir} (see pocker ps)`), { code: 'NOT_FOUND' });
  return { host, driver, actual };
}
