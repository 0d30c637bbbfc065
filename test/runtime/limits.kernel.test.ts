import { sharesToWeight } from '../../reconciler/limits/limits.js';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { DEVICES, MASKED_DIRS, MASKED_FILES, READONLY_PATHS } from '../../reconciler/runtime/security/policy.js';
import { beforeEach, expect, it } from 'vitest';
import { counter, cpuUsageUs, oomKills, rawLimits, swapBytes } from '../helpers/cgroupValues.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { withSwap } from '../helpers/swap.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Host pids of the children of a process. */
function children(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
}

describeKernel('container limits and isolation on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  it('runs isolated with exactly the limits of its spec, init and workload in its cgroups', async () => {
    const probe = [
      'echo "host=$(hostname)"',
      'echo "comm=$(cat /proc/1/comm)"',
      'echo "cmdline=$(tr "\\0" " " < /proc/1/cmdline)"',
      'echo "ifaces=$(ls /sys/class/net | tr "\\n" ",")"',
      'echo "mounts=$(cut -d" " -f5 /proc/self/mountinfo | tr "\\n" ",")"',
      'echo "cgroups=$(cut -d: -f3 /proc/self/cgroup | sort -u | tr "\\n" ",")"',
      'echo "pids=$(ls /proc | grep "^[0-9]" | tr "\\n" ",")"',
      'exec sleep 3600',
    ].join('; ');
    inst.writeSpec(
      'box1.yaml',
      inst.spec('box1', {
        hostname: 'box1',
        command: ['sh', '-c', probe],
        resources: { cpus: 0.5, cpuset: '0', memory: '64Mi', memsw: '96Mi', pids: 64 },
      }),
    );
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    const log = await inst.waitForLog('box1', /pids=/);
    const seen = Object.fromEntries(
      log
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );
    expect(seen.host).toBe('box1');
    expect(seen.comm).toBe('pocker-init');
    expect(seen.cmdline?.trim()).toBe('pocker-init');
    expect(seen.ifaces).toBe('lo,');
    const protectedPaths = [...MASKED_FILES, ...MASKED_DIRS, ...READONLY_PATHS].filter((p) => existsSync(p));
    const expectedMounts = [
      '/',
      '/dev',
      '/dev/mqueue',
      '/dev/pts',
      '/dev/shm',
      '/proc',
      '/sys',
      ...DEVICES.map((d) => `/dev/${d}`),
      ...protectedPaths,
    ];
    expect(seen.mounts!.split(',').filter(Boolean).sort()).toEqual([...new Set(expectedMounts)].sort());
    expect(seen.cgroups).toBe('/,');
    const visible = seen.pids!.split(',').filter(Boolean).map(Number);
    expect(visible).toContain(1);
    expect(visible.length).toBeLessThanOrEqual(8);
    expect(readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length).toBeGreaterThan(visible.length + 20);

    const raw = rawLimits(inst, 'box1');
    if (inst.driver.version === 'v2') {
      expect(raw).toEqual({
        cpu: '50000 100000',
        cpuset: '0',
        memory: String(64 * 2 ** 20),
        swapOrMemsw: String(32 * 2 ** 20),
        pids: '64',
        cpuWeight: '100',
      });
    } else {
      expect(raw).toEqual({
        cpu: '50000 100000',
        cpuset: '0',
        memory: String(64 * 2 ** 20),
        swapOrMemsw: String(96 * 2 ** 20),
        pids: '64',
        cpuWeight: '1024',
      });
    }
    const init = inst.pid('box1');
    const workload = children(init)[0]!;
    expect(readFileSync(`/proc/${workload}/comm`, 'utf8').trim()).toBe('sleep');
    for (const pid of [init, workload]) {
      const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').trim().split('\n');
      const byCtrl = new Map(lines.map((l) => [l.split(':')[1]!, l.split(':')[2]!]));
      const want = `/${inst.dirs.cgroupParent}/box1`;
      if (inst.driver.version === 'v2') expect(byCtrl.get('')).toBe(want);
      else
        for (const c of ['cpu', 'cpuset', 'memory', 'pids']) expect([...byCtrl].find(([k]) => k.split(',').includes(c))?.[1], c).toBe(want);
    }
    const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
    expect(hostMounts).not.toContain(inst.root);
  });

  it('cpu: a busy loop under cpus 0.5 gets 40-55% of one CPU and is throttled', async () => {
    inst.writeSpec(
      'busy.yaml',
      inst.spec('busy', { command: ['sh', '-c', 'while :; do :; done'], resources: { cpus: 0.5 }, stopGracePeriod: '1s' }),
    );
    expect((await inst.reconcile()).ok).toBe(true);
    await sleep(300);
    const u0 = cpuUsageUs(inst, 'busy');
    const t0 = performance.now();
    await sleep(2500);
    const share = (cpuUsageUs(inst, 'busy') - u0) / ((performance.now() - t0) * 1000);
    expect(share).toBeGreaterThanOrEqual(0.4);
    expect(share).toBeLessThanOrEqual(0.55);
    expect(counter(inst, 'busy', 'cpu', 'cpu.stat', 'nr_throttled')).toBeGreaterThan(0);
  });

  it('cpuShares: two busy containers on one CPU share it 2:1, and a change applies in place', async () => {
    const busy = (name: string, shares: number) =>
      inst.writeSpec(
        `${name}.yaml`,
        inst.spec(name, {
          command: ['sh', '-c', 'while :; do :; done'],
          resources: { cpuset: '0', cpuShares: shares },
          stopGracePeriod: '1s',
        }),
      );
    const ratio = async (a: string, b: string): Promise<number> => {
      await sleep(300);
      const [a0, b0] = [cpuUsageUs(inst, a), cpuUsageUs(inst, b)];
      await sleep(2500);
      return (cpuUsageUs(inst, a) - a0) / (cpuUsageUs(inst, b) - b0);
    };
    const unit = (shares: number): string => String(inst.driver.version === 'v2' ? sharesToWeight(shares) : shares);
    busy('hi', 1024);
    busy('lo', 512);
    expect((await inst.reconcile()).ok).toBe(true);
    expect(rawLimits(inst, 'lo').cpuWeight).toBe(unit(512));
    const first = await ratio('hi', 'lo');
    expect(first).toBeGreaterThanOrEqual(1.6);
    expect(first).toBeLessThanOrEqual(2.4);
    const pid = inst.pid('lo');
    busy('lo', 2048);
    const r = await inst.reconcile();
    expect(r.results.find((x) => x.name === 'lo')?.kind).toBe('update');
    expect(inst.pid('lo')).toBe(pid);
    expect(rawLimits(inst, 'lo').cpuWeight).toBe(unit(2048));
    const second = await ratio('lo', 'hi');
    expect(second).toBeGreaterThanOrEqual(1.6);
    expect(second).toBeLessThanOrEqual(2.4);
  });

  it('state paused freezes a container in place: its CPU time stops, and it resumes on running; a paused one is removed cleanly', async () => {
    const spin = (state: string) =>
      inst.writeSpec(
        'spin.yaml',
        inst.spec('spin', { command: ['sh', '-c', 'while :; do :; done'], resources: { cpus: 0.5 }, stopGracePeriod: '1s', state }),
      );
    const used = async (ms: number): Promise<number> => {
      const u0 = cpuUsageUs(inst, 'spin');
      await sleep(ms);
      return cpuUsageUs(inst, 'spin') - u0;
    };
    spin('running');
    expect((await inst.reconcile()).ok).toBe(true);
    const pid = inst.pid('spin');
    await sleep(200);
    expect(await used(500)).toBeGreaterThan(100_000);

    spin('paused');
    let r = await inst.reconcile();
    expect(r.results.find((x) => x.name === 'spin')?.kind).toBe('update');
    expect(inst.container('spin').limits?.frozen).toBe(true);
    await sleep(100);
    expect(await used(1000)).toBeLessThan(5_000);
    expect(inst.pid('spin')).toBe(pid);
    expect((await inst.reconcile()).results.filter((x) => x.kind !== 'none')).toEqual([]);

    spin('running');
    r = await inst.reconcile();
    expect(r.results.find((x) => x.name === 'spin')?.kind).toBe('update');
    await sleep(100);
    expect(await used(1000)).toBeGreaterThan(300_000);
    expect(inst.pid('spin')).toBe(pid);

    spin('paused');
    expect((await inst.reconcile()).ok).toBe(true);
    expect(inst.container('spin').limits?.frozen).toBe(true);
  });

  it('pids: a fork bomb stops at the limit and the host is unaffected', async () => {
    const hostProcs = (): number => readdirSync('/proc').filter((e) => /^\d+$/.test(e)).length;
    const before = hostProcs();
    inst.writeSpec(
      'bomb.yaml',
      inst.spec('bomb', {
        command: ['sh', '-c', 'b() { b & b; }; b'],
        resources: { pids: 64, cpus: 0.5 },
        stopGracePeriod: '500ms',
        restart: 'never',
      }),
    );
    expect((await inst.reconcile()).ok).toBe(true);
    const deadline = Date.now() + 10_000;
    while (counter(inst, 'bomb', 'pids', 'pids.events', 'max') === 0 && Date.now() < deadline) await sleep(50);
    expect(counter(inst, 'bomb', 'pids', 'pids.events', 'max')).toBeGreaterThan(0);
    expect(Number(inst.cgroupFile('bomb', 'pids', 'pids.current'))).toBeLessThanOrEqual(64);
    expect(hostProcs() - before).toBeLessThanOrEqual(64 + 8);
    const t0 = Date.now();
    execFileSync('true');
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('memory: between memory and memsw it swaps; beyond memsw it is OOM-killed and recorded', async () => {
    await withSwap(512, async () => {
      inst.writeSpec(
        'mem.yaml',
        inst.spec('mem', {
          command: ['sh', '-c', 'dd if=/dev/zero bs=80M count=1 | sleep 3600'],
          resources: { memory: '64Mi', memsw: '96Mi' },
          restart: 'never',
        }),
      );
      expect((await inst.reconcile()).ok).toBe(true);
      const deadline = Date.now() + 15_000;
      while (swapBytes(inst, 'mem') <= 10 * 2 ** 20 && Date.now() < deadline) await sleep(100);
      expect(swapBytes(inst, 'mem')).toBeGreaterThan(10 * 2 ** 20);
      expect(inst.container('mem').initAlive).toBe(true);
      expect(oomKills(inst, 'mem')).toBe(0);

      inst.writeSpec(
        'mem.yaml',
        inst.spec('mem', {
          command: ['dd', 'if=/dev/zero', 'of=/dev/null', 'bs=120M', 'count=1'],
          resources: { memory: '64Mi', memsw: '96Mi' },
          restart: 'never',
        }),
      );
      expect((await inst.reconcile()).ok).toBe(true);
      const end = Date.now() + 15_000;
      while (!inst.container('mem').exit && Date.now() < end) await sleep(50);
      expect(inst.container('mem').exit).toMatchObject({ exitCode: 137, oomKilled: true });
      expect(oomKills(inst, 'mem')).toBeGreaterThan(0);
      const again = await inst.reconcile();
      expect(again.plan.actions.map((a) => [a.kind, a.reason])).toEqual([['none', 'was OOM-killed (exit 137); restart: never']]);
    });
  });
});
