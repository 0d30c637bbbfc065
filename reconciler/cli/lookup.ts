import { observeContainer } from '../observe/observe.js';
import type { ActualContainer } from '../observe/types.js';
import type { CgroupDriver } from '../runtime/cgroups/driver.js';
import { detectDriver } from '../runtime/cgroups/detect.js';
import { NodeHost } from '../runtime/nodeHost.js';
import type { InstanceDirs } from '../state/layout.js';
import { UsageError } from './options.js';

const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** One container of the instance, with the host and the driver of the cgroup parent it was created under. */
export interface Found {
  host: NodeHost;
  driver: CgroupDriver;
  actual: ActualContainer;
}

/** Finds a container by name or fails with a clear message. */
export function findContainer(dirs: InstanceDirs, name: string | undefined): Found {
  if (!name) throw new UsageError('name a container');
  if (!NAME.test(name)) throw new UsageError(`"${name}" is not a container name`);
  const host = new NodeHost();
  const probe = detectDriver(host, dirs.cgroupParent);
  const first = observeContainer(host, dirs, probe, name);
  if (!first) throw Object.assign(new Error(`no container "${name}" in ${dirs.stateDir} (see pocker ps)`), { code: 'NOT_FOUND' });
  const parent = first.record?.cgroupParent;
  const driver = parent && parent !== dirs.cgroupParent ? detectDriver(host, parent) : probe;
  const actual = driver === probe ? first : (observeContainer(host, dirs, driver, name) ?? first);
  return { host, driver, actual };
}
