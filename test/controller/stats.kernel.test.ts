import { beforeEach, expect, it } from 'vitest';
import type { StatsRow } from '../../reconciler/controller/stats.js';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';

describeKernel('pocker stats on the real kernel (v1, hybrid and v2)', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  const stats = (...names: string[]): StatsRow[] => {
    const r = pocker(inst, 'stats', ['--no-stream', '-o', 'json', ...names]);
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as StatsRow[];
  };

  it('a spinning container at cpus 0.5 reads 45-55 % of one CPU and about 100 % of its quota; memory and pids match its cgroup', async () => {
    inst.writeSpec(
      'spin.yaml',
      inst.spec('spin', { command: ['sh', '-c', 'while :; do :; done'], resources: { cpus: 0.5, memory: '64Mi' } }),
    );
    inst.writeSpec('idle.yaml', inst.spec('idle', { resources: { memory: '32Mi' } }));
    expect((await inst.reconcile()).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 1500));
    const rows = stats();
    const spin = rows.find((r) => r.name === 'spin')!;
    const idle = rows.find((r) => r.name === 'idle')!;
    expect(spin.cpuPercent).toBeGreaterThanOrEqual(45);
    expect(spin.cpuPercent).toBeLessThanOrEqual(55);
    expect(spin.cpuPercentOfQuota).toBeGreaterThanOrEqual(90);
    expect(spin.cpuPercentOfQuota).toBeLessThanOrEqual(110);
    expect(idle.cpuPercent).toBeLessThan(5);
    expect(spin.memoryLimit).toBe(64 * 2 ** 20);
    expect(idle.memoryLimit).toBe(32 * 2 ** 20);
    const cgroupMemory = Number(inst.driver.usage('idle', inst.host)!.memoryBytes);
    expect(Math.abs(idle.memoryBytes - cgroupMemory)).toBeLessThanOrEqual(cgroupMemory * 0.1);
    expect(idle.workingSetBytes).toBeLessThanOrEqual(idle.memoryBytes);
    expect(spin.pids).toBeGreaterThanOrEqual(2);
    expect(stats('idle').map((r) => r.name)).toEqual(['idle']);
    const table = pocker(inst, 'stats', ['--no-stream']);
    expect(table.stdout).toMatch(/^NAME\s+CPU %\s+CPU % OF QUOTA\s+MEM USAGE \/ LIMIT/);
    expect(table.stdout).toMatch(/spin\s+\d+\.\d%/);
    // What the metrics read besides: CFS throttling of the capped spinner.
    const spinUsage = inst.driver.usage('spin', inst.host)!;
    expect(spinUsage.cpuPeriods).toBeGreaterThan(0);
    expect(spinUsage.cpuThrottledPeriods).toBeGreaterThan(0);
    expect(spinUsage.cpuThrottledNs).toBeGreaterThan(0);
    const missing = pocker(inst, 'stats', ['--no-stream', 'nosuch']);
    expect(missing.status).not.toBe(0);
    expect(missing.stderr).toMatch(/NOT_FOUND: no running container nosuch/);
  });

  it("OOM kills in a container are counted (the metrics' container_oom_events_total)", async () => {
    inst.writeSpec(
      'hog.yaml',
      inst.spec('hog', { resources: { memory: '16Mi' }, command: ['sh', '-c', 'head -c 48m /dev/zero | tail >/dev/null; sleep 3600'] }),
    );
    expect((await inst.reconcile()).ok).toBe(true);
    await until(() => (inst.driver.usage('hog', inst.host)?.oomKills ?? 0) >= 1, 'an OOM kill counted', 20_000, 100);
    // The OOM killer picks the biggest process (tail) and the shell goes on sleeping; where a
    // kernel picks the shell instead, the container ends, and its exit says why.
    const hog = inst.container('hog');
    if (!hog.initAlive) expect(hog.exit, JSON.stringify(hog.exit)).toMatchObject({ oomKilled: true });
  });
});
