import { join } from 'node:path';
import type { HostReader } from '../host/host.js';
import type { ContainerPaths } from './layout.js';

/** Whether a container's data dir holds something worth keeping: files in its writable layer, or a log. */
export function layerHasContent(host: HostReader, paths: ContainerPaths): boolean {
  const upper = host.readDir(paths.upper);
  if (upper && upper.length) return true;
  return (host.readDir(join(paths.log, '..')) ?? []).some((e) => e.startsWith('container.log'));
}
