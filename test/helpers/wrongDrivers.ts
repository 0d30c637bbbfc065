import type { Limits } from '../../reconciler/limits/limits.js';
import type { CgroupDriver } from '../../reconciler/cgroups/driver.js';
import { V1_OPTIONAL, V1_REQUIRED, V1Driver } from '../../reconciler/cgroups/v1.js';
import { V2Driver } from '../../reconciler/cgroups/v2.js';
import type { Host } from '../../reconciler/host/host.js';

/**
 * Wrong drivers for the cgroup v2 lane's negative controls (POCKER_TEST_WRONG_DRIVER): each one
 * gets something about limits wrong the way a real bug would, and the lane requires its limit
 * tests to fail with every one of them, so that the tests are known to catch wrong values, not
 * only a driver that cannot start containers at all.
 */
export const WRONG_DRIVERS = ['v1-on-v2', 'memory-one-page-off', 'cpu-quota-period-swapped'] as const;
export type WrongDriver = (typeof WRONG_DRIVERS)[number];

const V2_ROOT = '/sys/fs/cgroup';

/** A host whose writes of one cgroup file are rewritten (reads stay honest). */
function rewriting(host: Host, file: string, rewrite: (value: string) => string): Host {
  return new Proxy(host, {
    get(target, prop, receiver) {
      if (prop === 'writeFile')
        return (path: string, data: string) => target.writeFile(path, path.endsWith(`/${file}`) ? rewrite(data) : data);
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/** A v2 driver that writes one limit wrong. */
class MiswritingV2Driver extends V2Driver {
  constructor(
    parent: string,
    private readonly file: string,
    private readonly rewrite: (value: string) => string,
  ) {
    super(V2_ROOT, parent);
  }
  /** Every limit write goes through update (create too). */
  override update(name: string, want: Limits, have: Limits, host: Host): void {
    super.update(name, want, have, rewriting(host, this.file, this.rewrite));
  }
}

/** The wrong driver a negative control asks for, or null outside the controls. */
export function wrongDriverForControl(parent: string): CgroupDriver | null {
  const mode = process.env.POCKER_TEST_WRONG_DRIVER as WrongDriver | undefined;
  switch (mode) {
    case undefined:
      return null;
    case 'v1-on-v2':
      // What a wrong detection would give: v1 paths on the cgroup2 tree.
      return new V1Driver(new Map([...V1_REQUIRED, ...V1_OPTIONAL].map((c) => [c, V2_ROOT])), parent, null);
    case 'memory-one-page-off':
      return new MiswritingV2Driver(parent, 'memory.max', (v) => (/^\d+$/.test(v.trim()) ? String(Number(v) - 4096) : v));
    case 'cpu-quota-period-swapped':
      return new MiswritingV2Driver(parent, 'cpu.max', (v) => {
        const [q, p] = v.trim().split(' ');
        return q === 'max' || !p ? v : `${p} ${q}`;
      });
    default:
      throw new Error(`POCKER_TEST_WRONG_DRIVER=${String(mode)}: not one of ${WRONG_DRIVERS.join(', ')}`);
  }
}
