import { expect, it } from 'vitest';
import { psEntry } from '../../reconciler/cli/ps.js';
import { downSource } from '../../reconciler/controller/once.js';
import { counter, cpuUsageUs, oomKills, swapBytes } from '../helpers/cgroupValues.js';
import { favourInstance } from '../helpers/cpuWeight.js';
import { writeExampleSpecs } from '../helpers/exampleSpecs.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { cpuTimes, cpusAllowed, descendants, procStat } from '../helpers/procStat.js';
import { withSwap } from '../helpers/swap.js';
import { sleep, until } from '../helpers/wait.js';

const MiB = 2 ** 20;

/** Host pids of the container's processes running `comm`. */
function processes(inst: TestInstance, name: string, comm: string): number[] {
  return descendants(inst.pid(name)).filter((p) => {
    try {
      return procStat(p).comm === comm;
    } catch {
      return false;
    }
  });
}

/** What a container got in one measurement window. */
interface CpuWindow {
  /** CPU seconds per wall second. */
  share: number;
  /** The fraction of its CFS periods in which it used up its quota and was throttled. */
  throttledPeriods: number;
}

/** Measures each container's CPU over the same ms of wall time. */
async function cpuWindow(inst: TestInstance, names: string[], ms: number): Promise<CpuWindow[]> {
  const read = (n: string) =>
    [cpuUsageUs(inst, n), counter(inst, n, 'cpu', 'cpu.stat', 'nr_periods'), counter(inst, n, 'cpu', 'cpu.stat', 'nr_throttled')] as const;
  const before = names.map(read);
  const t0 = performance.now();
  await sleep(ms);
  const after = names.map(read);
  const wallUs = (performance.now() - t0) * 1000;
  return names.map((_, i) => {
    const [[u0, p0, t0], [u1, p1, t1]] = [before[i]!, after[i]!];
    return { share: (u1 - u0) / wallUs, throttledPeriods: (t1 - t0) / Math.max(1, p1 - p0) };
  });
}

/**
 * Measures windows of ms until one where every container was throttled in at least 90% of its
 * periods: its quota, not CPUs busy with other work, is what held it back. Gives up after
 * `tries` windows and returns the last.
 */
async function quotaBoundWindow(inst: TestInstance, names: string[], ms: number, tries: number): Promise<CpuWindow[]> {
  for (let i = 1; ; i++) {
    const w = await cpuWindow(inst, names, ms);
    if (i === tries || w.every((c) => c.throttledPeriods >= 0.9)) return w;
  }
}

/** A report line of the CPU experiments' containers: the CPU a worker last ran on and its share of one CPU. */
const REPORT = /^md5sum \d+ on CPU (\d+): (\d+)% of one CPU since it started$/gm;

/** The shares (percent of one CPU) in a container's report lines, once it has logged one. */
async function loggedShares(inst: TestInstance, name: string): Promise<number[]> {
  const log = await inst.waitForLog(name, new RegExp(REPORT.source, 'm'));
  return [...log.matchAll(REPORT)].map((m) => Number(m[2]));
}

describeKernel('examples/experiments on the real kernel', () => {
  const current = useTestInstance();

  it('cpus: the job at cpus 0.5 gets twice the CPU time per second of the same job at 0.25', async () => {
    const inst = current();
    expect(writeExampleSpecs(inst, 'experiments/cpus').sort()).toEqual(['cpu-half', 'cpu-quarter']);
    expect((await inst.reconcile()).ok).toBe(true);
    favourInstance(inst, 'cpu-half');
    await sleep(300);
    const window = await quotaBoundWindow(inst, ['cpu-half', 'cpu-quarter'], 2000, 5);
    const [half, quarter] = window.map((c) => c.share);
    console.log(
      `cpus: cpu-half ${half!.toFixed(3)} CPU s/s, cpu-quarter ${quarter!.toFixed(3)} CPU s/s, ratio ${(half! / quarter!).toFixed(2)}; throttled in ${window.map((c) => `${Math.round(c.throttledPeriods * 100)}%`).join(' / ')} of periods`,
    );
    expect(half).toBeLessThanOrEqual(0.55);
    expect(quarter).toBeLessThanOrEqual(0.28);
    expect(half! / quarter!).toBeGreaterThanOrEqual(1.6);
    expect(half! / quarter!).toBeLessThanOrEqual(2.4);

    expect(Math.max(...(await loggedShares(inst, 'cpu-half')))).toBeLessThanOrEqual(55);
    expect(Math.max(...(await loggedShares(inst, 'cpu-quarter')))).toBeLessThanOrEqual(28);
  });

  it('cpuset: two busy workers pinned to CPU 0 only ever run there and share one CPU between them', async () => {
    const inst = current();
    expect(writeExampleSpecs(inst, 'experiments/cpuset')).toEqual(['cpuset-pinned']);
    expect((await inst.reconcile()).ok).toBe(true);
    favourInstance(inst, 'cpuset-pinned');
    let workers: number[] = [];
    await until(() => (workers = processes(inst, 'cpuset-pinned', 'md5sum')).length === 2, 'two md5sum workers');
    for (const w of workers) expect(cpusAllowed(w)).toBe('0');
    await sleep(300);

    const percpu = (): number[] =>
      inst.driver.version === 'v1' ? inst.cgroupFile('cpuset-pinned', 'cpuacct', 'cpuacct.usage_percpu').split(/\s+/).map(Number) : [];
    const [host0, cg0, pc0, w0] = [cpuTimes(), cpuUsageUs(inst, 'cpuset-pinned'), percpu(), workers.map((w) => procStat(w).cpuSeconds)];
    const t0 = performance.now();
    const seen = workers.map(() => new Set<number>());
    while (performance.now() - t0 < 2500) {
      workers.forEach((w, i) => seen[i]!.add(procStat(w).processor));
      await sleep(10);
    }
    const wall = (performance.now() - t0) / 1000;
    const [host1, cg1, pc1, w1] = [cpuTimes(), cpuUsageUs(inst, 'cpuset-pinned'), percpu(), workers.map((w) => procStat(w).cpuSeconds)];

    const total = (cg1 - cg0) / 1e6 / wall;
    const perWorker = workers.map((_, i) => (w1[i]! - w0[i]!) / wall);
    const othersOnCpu0 = Math.max(0, (host1[0]!.busy - host0[0]!.busy) / wall - total);
    console.log(
      `cpuset: workers ${perWorker.map((s) => s.toFixed(3)).join(' + ')}, cgroup ${total.toFixed(3)} CPU s/s; others on CPU 0 ${othersOnCpu0.toFixed(3)}; CPUs seen ${seen.map((s) => [...s].join(',')).join(' / ')}`,
    );
    expect(seen).toEqual([new Set([0]), new Set([0])]);
    if (pc0.length) expect(pc1.map((v, cpu) => (cpu === 0 ? 0 : v - pc0[cpu]!))).toEqual(pc1.map(() => 0));
    expect(total).toBeLessThanOrEqual(1.05);
    expect(total).toBeGreaterThanOrEqual(0.9 * (1 - othersOnCpu0));
    for (const s of perWorker) expect(s / total).toBeGreaterThanOrEqual(0.3);

    const log = await inst.waitForLog('cpuset-pinned', new RegExp(`(${REPORT.source}\\n){2}`, 'm'));
    expect(new Set([...log.matchAll(REPORT)].map((m) => m[1]))).toEqual(new Set(['0']));
  });

  it('memory: within the limit nothing is swapped, between memory and memsw it swaps, beyond memsw it is OOM-killed', async () => {
    const inst = current();
    await withSwap(256, async () => {
      try {
        expect(writeExampleSpecs(inst, 'experiments/memory').sort()).toEqual(['mem-oom', 'mem-swap', 'mem-within']);
        expect((await inst.reconcile()).ok).toBe(true);
        const usage = (name: string): number =>
          Number(inst.cgroupFile(name, 'memory', inst.driver.version === 'v2' ? 'memory.current' : 'memory.usage_in_bytes'));
        const swapped = 80 * MiB - 64 * MiB;
        await until(
          () => usage('mem-within') >= 48 * MiB && swapBytes(inst, 'mem-swap') >= swapped,
          `mem-within holding 48 MiB and mem-swap ${swapped / MiB} MiB swapped out`,
          15_000,
          50,
        );
        await until(() => !!inst.container('mem-oom').exit, 'mem-oom exited', 15_000, 50);
        const figures = ['mem-within', 'mem-swap'].map(
          (n) => `${n} memory ${(usage(n) / MiB).toFixed(1)} MiB, swap ${(swapBytes(inst, n) / MiB).toFixed(1)} MiB`,
        );
        console.log(`memory: ${figures.join('; ')}; mem-oom ${psEntry(inst.container('mem-oom')).state}`);

        expect(swapBytes(inst, 'mem-within')).toBe(0);
        for (const n of ['mem-within', 'mem-swap']) {
          expect(psEntry(inst.container(n)).state, n).toBe('running');
          expect(oomKills(inst, n), n).toBe(0);
        }
        expect(inst.container('mem-oom').exit).toMatchObject({ exitCode: 137, oomKilled: true });
        expect(psEntry(inst.container('mem-oom')).state).toBe('exited (OOM-killed)');
        expect(oomKills(inst, 'mem-oom')).toBeGreaterThan(0);

        expect(await inst.waitForLog('mem-swap', /VmSwap:\s+[1-9]\d* kB/)).toMatch(/^dd holds 80 MiB: VmRSS: \d+ kB VmSwap: \d+ kB$/m);
        expect(await inst.waitForLog('mem-within', /VmSwap:/)).toMatch(/^dd holds 48 MiB: VmRSS: \d+ kB VmSwap: 0 kB$/m);
      } finally {
        await downSource({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver });
      }
    });
  });
});
