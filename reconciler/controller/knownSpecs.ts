import type { CgroupDriver } from '../cgroups/driver.js';
import type { Host } from '../host/host.js';
import { observe } from '../observe/observe.js';
import type { ActualSet } from '../observe/types.js';
import { loadSpecDir } from '../spec/load.js';
import type { DesiredContainer } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import { listSourceStatuses } from './sourceStatus.js';

/** What an instance knows it must keep: its containers and the specs of every spec dir it has reconciled. */
export type KnownSpecs = { actual: ActualSet; desired: DesiredContainer[] } | { error: string };

/**
 * The containers of the instance and the specs of every spec dir a pass has reconciled or a
 * container was applied from. An error when one of those dirs cannot be read whole: a command that
 * removes what nothing uses (image prune, volume rm/prune) must then remove nothing.
 */
export function knownSpecs(host: Host, dirs: InstanceDirs, driver: CgroupDriver): KnownSpecs {
  const specDirs = new Set(listSourceStatuses(host, dirs.stateDir).map((s) => s.dir));
  const actual = observe(host, dirs, driver);
  for (const a of actual.containers.values()) if (a.record?.source.dir) specDirs.add(a.record.source.dir);
  const desired: DesiredContainer[] = [];
  for (const dir of specDirs) {
    const load = loadSpecDir(dir);
    if (load.status !== 'ok' || load.errors.length)
      return { error: `spec dir ${dir} cannot be read whole (${load.statusError ?? `${load.errors.length} error(s)`})` };
    desired.push(...load.desired);
  }
  return { actual, desired };
}
