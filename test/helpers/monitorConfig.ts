import { monitorConfig, type MonitorSetup } from '../../reconciler/runtime/monitorConfig.js';
import type { ContainerSpec } from '../../reconciler/spec/types.js';
import { containerPaths } from '../../reconciler/state/layout.js';

const DIRS = { stateDir: '/run/p', dataDir: '/var/lib/p', cgroupParent: 'p' };

/** The monitor config of a spec named web in a fake instance, as its flat key/value list. */
export function monitorConfigOf(spec: ContainerSpec, extra: Partial<MonitorSetup> = {}): string[] {
  return monitorConfig(spec, {
    paths: containerPaths(DIRS, 'web'),
    placement: { taskFiles: [], monitorTaskFiles: [], oomFile: '/x' },
    sourceIsDir: () => true,
    volumePath: (n) => `/var/lib/p/volumes/${n}`,
    contentPath: () => '/unused',
    bootId: 'b',
    ...extra,
  })
    .toString()
    .split('\0');
}
