import { RuntimeError } from '../host/errors.js';
import type { HostReader } from '../host/host.js';
import type { CgroupDriver, CgroupVersion } from './driver.js';
import { parseCgroupMounts, type CgroupMounts } from './mounts.js';
import { V1_REQUIRED, V1Driver } from './v1.js';
import { V2Driver } from './v2.js';

/** Which layout the mounts describe: v2 when no v1 controller is mounted, hybrid when both are. */
export function detectVersion(m: CgroupMounts): CgroupVersion | null {
  const hasV1 = V1_REQUIRED.some((c) => m.v1.has(c));
  if (hasV1) return m.unified ? 'hybrid' : 'v1';
  return m.unified ? 'v2' : null;
}

/** Validates a cgroup parent path: relative, clean, no dot segments. */
export function cgroupParentProblem(parent: string): string | null {
  if (!parent || parent.startsWith('/') || parent.endsWith('/')) return 'must be a relative path like "pocker" or "pocker/test"';
  for (const seg of parent.split('/'))
    if (!seg || seg === '.' || seg === '..' || seg.includes('\0')) return `segment "${seg}" is not allowed`;
  return null;
}

/**
 * Picks the driver for this host from /proc/self/mountinfo (as youki does). `force` selects a
 * version regardless (tests use it to prove the wrong driver fails).
 */
export function detectDriver(host: HostReader, parent: string, force?: CgroupVersion): CgroupDriver {
  const problem = cgroupParentProblem(parent);
  if (problem) throw new RuntimeError('CGROUP', `--cgroup-parent "${parent}" ${problem}`);
  const mounts = parseCgroupMounts(host.readFile('/proc/self/mountinfo') ?? '');
  const version = force ?? detectVersion(mounts);
  if (version === 'v2') {
    if (!mounts.unified) throw new RuntimeError('CGROUP', 'no cgroup2 hierarchy is mounted');
    return new V2Driver(mounts.unified, parent);
  }
  if (version === 'v1' || version === 'hybrid') {
    const missing = V1_REQUIRED.filter((c) => !mounts.v1.has(c));
    if (missing.length) throw new RuntimeError('CGROUP', `cgroup v1 controller(s) not mounted: ${missing.join(', ')}`);
    return new V1Driver(mounts.v1, parent, version === 'hybrid' ? mounts.unified : null);
  }
  throw new RuntimeError('CGROUP', 'no cgroup hierarchy is mounted (looked in /proc/self/mountinfo)');
}
