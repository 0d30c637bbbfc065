import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { instanceFlags, POCKER_BIN } from '../helpers/cli.js';
import { WatchController } from '../../reconciler/controller/watch.js';
import { setFaults } from '../../reconciler/host/faults.js';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import type { Logger } from '../../reconciler/log/logger.js';
import { instanceProcesses, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeNetwork, TestNetwork } from '../helpers/network.js';
import { FAULT_STEPS } from '../../reconciler/host/faults.js';
import { downSource } from '../../reconciler/controller/once.js';

/** Random kills per run; `npm run test:faults -- --iterations N` sets it for the long version. */
const ITERATIONS = Number(process.env.POCKER_FAULT_ITERATIONS ?? 200);
const SEED = Number(process.env.POCKER_FAULT_SEED ?? Date.now() % 1_000_000);

/** Every named step a controller can be killed at (host/faults.ts). */
const STEPS: readonly string[] = FAULT_STEPS;

const NAMES = ['a', 'b', 'c', 'd', 'e', 'f'];
/** The container on a bridge network: the network steps happen only for it. */
const BRIDGED = 'f';
const NETWORK_STEPS = ['create:network', 'create:cni-added', 'remove:network'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** mulberry32: a small seeded generator, so a failing run can be replayed with POCKER_FAULT_SEED. */
function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r ^= r + Math.imul(r ^ (r >>> 7), 61 | r);
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the spec dir should lead to: per file, its text and whether it is valid; the last good hash of broken ones. */
interface Model {
  files: Map<string, { text: string; valid: boolean }>;
  lastGood: Map<string, string>;
}

type Change = { kind: 'add' | 'remove' | 'resources' | 'command' | 'break' | 'fix'; name: string };

describeNetwork('crash consistency: the controller killed anywhere, then one clean pass', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let net: TestNetwork;
  beforeEach(() => {
    inst = current();
    net = new TestNetwork(inst);
  });
  afterEach(async () => {
    setFaults(null);
    await downSource({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver, network: net.opts });
    const left = net.leftovers();
    net.close();
    expect(left).toEqual([]);
  });

  const bin = POCKER_BIN;
  const args = () => [...instanceFlags(inst), '--cni-conf-dir', net.opts.confDir, '--log-level', 'silent', '--allow-empty'];
  const specText = (name: string, v: { mem: number; cmd: number }) =>
    stringify(
      inst.spec(name, {
        command: ['sh', '-c', `echo v${v.cmd}; exec sleep 3600`],
        resources: { memory: `${v.mem}Mi`, pids: 32 },
        stopGracePeriod: '500ms',
        ...(name === BRIDGED && { network: net.spec() }),
      }),
    );
  const hashOf = (file: string, text: string) => parseSpecFile(text, file, { dir: inst.specDir, file }).specs[0]?.hash;

  /** Checks every invariant after the clean pass; returns what is wrong (empty when all holds). */
  const violations = (model: Model, before: Map<string, number>, changed: string): string[] => {
    const bad: string[] = [];
    const actual = inst.actual();
    const expected = new Map<string, string>();
    for (const [file, f] of model.files) {
      const name = file.replace('.yaml', '');
      if (f.valid) expected.set(name, hashOf(file, f.text)!);
      else if (model.lastGood.has(name)) expected.set(name, model.lastGood.get(name)!);
    }
    for (const [name, hash] of expected) {
      const a = actual.containers.get(name);
      if (!a?.initAlive) bad.push(`${name}: not running`);
      else if (a.record?.hash !== hash) bad.push(`${name}: runs hash ${a.record?.hash}, want ${hash}`);
      else if (a.record.phase !== 'created') bad.push(`${name}: record phase ${a.record.phase}`);
    }
    for (const name of actual.containers.keys()) if (!expected.has(name)) bad.push(`${name}: container without a spec`);
    for (const [name, pid] of before)
      if (name !== changed && actual.containers.get(name)?.pids?.initPid !== pid) bad.push(`${name}: untouched but its pid changed`);
    const names = [...expected.keys()].sort();
    const cgroups = inst.driver.list(inst.host).sort();
    if (JSON.stringify(cgroups) !== JSON.stringify(names)) bad.push(`cgroups ${cgroups} != containers ${names}`);
    const data = existsSync(join(inst.dirs.dataDir, 'containers')) ? readdirSync(join(inst.dirs.dataDir, 'containers')).sort() : [];
    if (JSON.stringify(data) !== JSON.stringify(names)) bad.push(`writable layers ${data} != containers ${names}`);
    const records = names.filter((n) => existsSync(containerPaths(inst.dirs, n).record));
    if (JSON.stringify(records) !== JSON.stringify(names)) bad.push(`records ${records} != containers ${names}`);
    const runtime = readdirSync(inst.dirs.stateDir)
      .filter((e) => !e.startsWith('.'))
      .sort();
    if (JSON.stringify(runtime) !== JSON.stringify(names)) bad.push(`state dirs ${runtime} != containers ${names}`);
    if (readFileSync('/proc/self/mountinfo', 'utf8').includes(inst.dirs.dataDir)) bad.push('a mount under the data dir leaked');
    // Every live process belongs to a container: its monitor (one each), or sits in its cgroup.
    const monitors = new Map<string, number>();
    for (const pid of instanceProcesses(inst.dirs)) {
      let cmd: string, cg: string, stat: string;
      try {
        cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        cg = readFileSync(`/proc/${pid}/cgroup`, 'utf8');
        stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      } catch {
        continue;
      }
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      const mon = /pocker-monitor\0\/proc\/self\/fd\/4\0(.+?)\0/.exec(cmd);
      if (mon) {
        const n = mon[1]!.slice(mon[1]!.lastIndexOf('/') + 1);
        monitors.set(n, (monitors.get(n) ?? 0) + 1);
        if (!expected.has(n)) bad.push(`monitor ${pid} of vanished container ${n}`);
        continue;
      }
      const m = new RegExp(`/${inst.dirs.cgroupParent}/([a-z0-9-]+)`).exec(cg);
      if (!m || !expected.has(m[1]!)) bad.push(`process ${pid} (${cmd.split('\0')[0]}) belongs to no container`);
      if (state === 'Z') bad.push(`zombie ${pid} in container ${m?.[1]}`);
    }
    for (const [n, count] of monitors) if (count !== 1) bad.push(`${count} monitors for ${n}`);
    return bad;
  };

  it(
    `keeps every invariant through ${ITERATIONS} random kills and a kill at every named step (seed ${SEED})`,
    async () => {
      const random = rng(SEED);
      const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
      const versions = new Map<string, { mem: number; cmd: number }>();
      const model: Model = { files: new Map(), lastGood: new Map() };
      const write = (name: string): void => {
        const text = specText(name, versions.get(name)!);
        inst.writeSpec(`${name}.yaml`, text);
        model.files.set(`${name}.yaml`, { text, valid: true });
        model.lastGood.set(name, hashOf(`${name}.yaml`, text)!);
      };
      for (const n of NAMES.slice(0, 3)) {
        versions.set(n, { mem: 32, cmd: 0 });
        write(n);
      }
      expect((await inst.reconcile({ allowEmpty: true, network: net.opts })).ok).toBe(true);

      const schedule: Array<{ step?: string }> = [...STEPS.map((step) => ({ step })), ...Array.from({ length: ITERATIONS }, () => ({}))];
      const firedSteps = new Set<string>();
      for (let i = 0; i < schedule.length; i++) {
        const { step } = schedule[i]!;
        let target: string | undefined;
        if (step) {
          // The container the step happens to: the bridged one for the network steps. Its file is
          // made valid first (and the container made to exist, for an update or a removal), in a
          // clean pass, so that the change below passes the step.
          target = pick(NETWORK_STEPS.includes(step) ? [BRIDGED] : NAMES.filter((n) => n !== BRIDGED));
          const file = model.files.get(`${target}.yaml`);
          if ((file && !file.valid) || (!file && !step.startsWith('create'))) {
            versions.set(target, versions.get(target) ?? { mem: 32, cmd: 0 });
            write(target);
            const prep = await inst.reconcile({ allowEmpty: true, network: net.opts });
            expect(prep.ok, `iteration ${i}: preparing ${target} for ${step}: ${JSON.stringify(prep.results)}`).toBe(true);
          }
        }
        const present = [...model.files.keys()].map((f) => f.replace('.yaml', ''));
        const absent = NAMES.filter((n) => !present.includes(n));
        const broken = present.filter((n) => !model.files.get(`${n}.yaml`)!.valid);
        const valid = present.filter((n) => model.files.get(`${n}.yaml`)!.valid);
        let kind: Change['kind'];
        let name: string;
        if (step && target) {
          name = target;
          if (step.startsWith('create')) kind = present.includes(target) ? 'command' : 'add';
          else if (step.startsWith('remove')) kind = present.length > 1 ? 'remove' : 'command';
          else kind = 'resources';
        } else {
          const kinds: Array<Change['kind']> = [];
          if (absent.length) kinds.push('add');
          if (present.length > 1) kinds.push('remove');
          if (valid.length) kinds.push('resources', 'command');
          if (present.length) kinds.push('break');
          if (broken.length) kinds.push('fix');
          kind = pick(kinds);
          name =
            kind === 'add'
              ? pick(absent)
              : kind === 'fix'
                ? pick(broken)
                : kind === 'resources' || kind === 'command'
                  ? pick(valid)
                  : pick(present);
        }
        const before = new Map([...inst.actual().containers].filter(([, a]) => a.initAlive).map(([n, a]) => [n, a.pids!.initPid]));
        const file = `${name}.yaml`;
        switch (kind) {
          case 'add':
            versions.set(name, { mem: 32, cmd: 0 });
            write(name);
            break;
          case 'remove':
            inst.removeSpec(file);
            model.files.delete(file);
            model.lastGood.delete(name);
            break;
          case 'resources': {
            // Another value than now, so that there is something to update.
            const v = versions.get(name)!;
            v.mem = 32 + 8 * ((Math.floor(random() * 7) + 1 + (v.mem - 32) / 8) % 8);
            write(name);
            break;
          }
          case 'command':
            versions.get(name)!.cmd++;
            write(name);
            break;
          case 'break':
            inst.writeSpec(file, `name: ${name}\nimage: {layers: [${inst.layer}]\ncommand: [`);
            model.files.set(file, { text: '', valid: false });
            break;
          case 'fix':
            write(name);
            break;
        }
        // The controller: --once or the watching daemon, killed at a named step or at a random moment.
        const daemon = !step && random() < 0.3;
        const env = { ...process.env, ...(step ? { POCKER_FAULT: `${step}:${name}=kill` } : {}) };
        const child = spawn(process.execPath, [bin, 'reconcile', ...(daemon ? [] : ['--once']), ...args()], { env, stdio: 'ignore' });
        const exited = new Promise<NodeJS.Signals | null>((r) => child.once('exit', (_code, signal) => r(signal)));
        if (!step) {
          await Promise.race([exited, sleep(Math.floor(random() * (daemon ? 400 : 150)))]);
          child.kill('SIGKILL');
        } else {
          const fired = await Promise.race([exited, sleep(10_000).then(() => 'not within 10 s' as const)]);
          if (fired === 'not within 10 s') child.kill('SIGKILL');
          expect(fired, `iteration ${i}: the kill at ${step} of ${name} (${kind}) did not happen`).toBe('SIGKILL');
          firedSteps.add(step);
        }
        await exited;
        const clean = await inst.reconcile({ allowEmpty: true, network: net.opts });
        const wrong = violations(model, before, name);
        expect(
          wrong,
          `iteration ${i} (seed ${SEED}): ${kind} ${name}, ${step ? `killed at ${step}` : daemon ? 'daemon killed' : '--once killed'}; clean pass ${JSON.stringify(clean.results.filter((r) => !r.ok))}`,
        ).toEqual([]);
      }
      expect([...firedSteps].sort()).toEqual([...STEPS].sort());
    },
    Math.max(600_000, ITERATIONS * 2_000),
  );

  it('reports injected failures on their container only, retries them with backoff, and leaks nothing', async () => {
    const attempts = new Map<string, number[]>();
    const log: Logger = {
      debug() {},
      info() {},
      warn() {},
      error: (o: object) => {
        const f = o as { container?: string; action?: string };
        if (f.container && f.action) attempts.set(f.container, [...(attempts.get(f.container) ?? []), Date.now()]);
      },
    };
    for (const n of ['web', 'other']) inst.writeSpec(`${n}.yaml`, inst.spec(n, { resources: { memory: '32Mi' } }));
    setFaults('write-record:web=ENOSPC');
    const ctl = new WatchController({
      dir: inst.specDir,
      dirs: inst.dirs,
      host: inst.host,
      driver: inst.driver,
      log,
      removalDelayMs: 100,
      resyncMs: 60_000,
      allowEmpty: true,
      healthChecks: false,
    });
    await ctl.start();
    const until = async (cond: () => boolean, what: string) => {
      for (let t = 0; !cond(); t += 20) {
        if (t > 20_000) throw new Error(`timed out: ${what}`);
        await sleep(20);
      }
    };
    const running = (n: string) => inst.actual().containers.get(n)?.initAlive === true;
    try {
      // ENOSPC on the state dir: web fails, other runs; retries come at growing intervals; nothing of web is left.
      await until(() => running('other') && (attempts.get('web')?.length ?? 0) >= 4, 'four failed attempts of web');
      const t = attempts.get('web')!;
      expect(t[3]! - t[2]!).toBeGreaterThan(t[2]! - t[1]!);
      expect(inst.actual().containers.has('web')).toBe(false);
      expect(inst.driver.list(inst.host)).toEqual(['other']);
      setFaults(null);
      await until(() => running('web'), 'web running once the disk has room');

      // A cgroup write the kernel rejects: the update fails and is retried; the process keeps running.
      const pid = inst.pid('web');
      attempts.clear();
      setFaults('cgroup-write:web=EBUSY');
      inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '48Mi' } }));
      await until(() => (attempts.get('web')?.length ?? 0) >= 3, 'three failed updates');
      expect(inst.pid('web')).toBe(pid);
      setFaults(null);
      await until(() => inst.actual().containers.get('web')?.limits?.memory === 48 * 2 ** 20, 'memory updated');
      expect(inst.pid('web')).toBe(pid);

      // The layer dir disappears (an apply-time host check): the old container keeps running.
      const moved = `${inst.layer}.away`;
      renameSync(inst.layer, moved);
      attempts.clear();
      try {
        inst.writeSpec('web.yaml', inst.spec('web', { resources: { memory: '48Mi' }, command: ['sh', '-c', 'exec sleep 3600'] }));
        await until(() => (attempts.get('web')?.length ?? 0) >= 2, 'host check failures');
        expect(inst.pid('web')).toBe(pid);
        expect(running('other')).toBe(true);
      } finally {
        renameSync(moved, inst.layer);
      }
      await until(() => inst.runsAnotherPid('web', pid), 'web recreated once its layer is back');

      // EBUSY on unmount while removing: a mount left under web's data dir blocks its removal, retried.
      const stuck = join(containerPaths(inst.dirs, 'web').dataDir, 'stuck');
      mkdirSync(stuck, { recursive: true });
      const host = new NodeHost();
      spawn('mount', ['-t', 'tmpfs', 'tmpfs', stuck]);
      await until(() => host.mountsUnder(stuck).length === 1, 'the stuck mount');
      attempts.clear();
      setFaults('unmount=EBUSY');
      inst.removeSpec('web.yaml');
      await until(() => (attempts.get('web')?.length ?? 0) >= 2, 'failed removals');
      expect(running('other')).toBe(true);
      setFaults(null);
      await until(() => !inst.actual().containers.has('web'), 'web removed');
      expect(host.mountsUnder(inst.dirs.dataDir)).toEqual([]);
    } finally {
      await ctl.stop();
    }
    expect(inst.driver.list(inst.host)).toEqual(['other']);
  }, 120_000);
});
