import { observeContainer } from '../observe/observe.js';
import type { ActualContainer } from '../observe/types.js';
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

/** Finds a container by name or fails with a clear message. */
export function findContainer(dirs: InstanceDirs, name: string | undefined): Found {
  if (!name) throw new UsageError('name a container');
  if (!isContainerName(name)) throw new UsageError(`"${name}" is not a container name`);
  const host = new NodeHost();
  checkInstance(host, dirs, false);
  const driver = detectDriver(host, dirs.cgroupParent);
  const actual = observeContainer(host, dirs, driver, name);
  if (!actual) throw Object.assign(new Error(`no container "${name}" in ${dirs.dataDir} (see pocker ps)`), { code: 'NOT_FOUND' });
  return { host, driver, actual };
}
