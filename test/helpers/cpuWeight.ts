import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { TestInstance } from './instance.js';

/**
 * Gives the instance's cgroup parent ten times the default CPU weight (v1 cpu.shares 10240, v2
 * cpu.weight 1000), so that on a machine shared with other work its containers still get the CPU
 * their own limits allow: a measurement then shows those limits, not the neighbours' load. The
 * containers' own cgroups and limits are untouched. `container` names any container of the
 * instance, to find the parent once a pass has created it.
 */
export function favourInstance(inst: TestInstance, container: string): void {
  const dirs = inst.driver.dirs(container);
  if (inst.driver.version === 'v2') writeFileSync(join(dirname(dirs[0]!), 'cpu.weight'), '1000');
  else writeFileSync(join(dirname(dirs.find((d) => /\/cpu[,/]/.test(d))!), 'cpu.shares'), '10240');
}
