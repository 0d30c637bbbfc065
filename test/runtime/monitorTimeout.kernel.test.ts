import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { pocker } from '../helpers/cli.js';
import { instanceProcesses, useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { monitorBinary } from '../../reconciler/native.js';

describeKernel('a monitor that never reports', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  it('times out with an error naming it, is killed, and leaves nothing half-made', () => {
    const fake = join(inst.root, 'hung-monitor');
    const pidFile = join(inst.root, 'hung-monitor.pid');
    writeFileSync(fake, `#!/bin/sh\necho $$ > ${pidFile}\necho "pid $$" >&3\nexec sleep 600\n`);
    chmodSync(fake, 0o755);
    const cfg = join(inst.root, 'pocker.yaml');
    writeFileSync(cfg, 'timeouts: {monitor: 1s}\n');
    inst.writeSpec('web.yaml', inst.spec('web'));
    const t0 = Date.now();
    const r = pocker(inst, 'reconcile', ['--once', '--config', cfg], { env: { POCKER_MONITOR: fake }, timeoutMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.status, r.stdout + r.stderr).toBe(1);
    expect(r.stdout).toMatch(/create\s+web\s+FAILED: the monitor did not report within 1000 ms \(killed it\)/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(pid).toBeGreaterThan(0);
    expect(existsSync(`/proc/${pid}`) && !readFileSync(`/proc/${pid}/stat`, 'utf8').includes(') Z ')).toBe(false);
    expect(inst.actual().containers.size).toBe(0);
    expect(inst.driver.list(inst.host)).toEqual([]);
  });
});

describeKernel('a monitor killed while it creates the user namespace', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });

  it('leaves no holder of the namespace behind to keep the lock, so the next start takes it', () => {
    // strace holds every unshare(2) of the monitor and its children for 3 s: the namespace's
    // holder is forked and waiting in it when the 1 s monitor timeout kills the monitor.
    const slow = join(inst.root, 'slow-monitor');
    writeFileSync(
      slow,
      `#!/bin/sh\nexec strace -f -qq -o /dev/null -e trace=unshare -e inject=unshare:delay_exit=3000000 ${monitorBinary()} "$@"\n`,
    );
    chmodSync(slow, 0o755);
    const cfg = join(inst.root, 'pocker.yaml');
    writeFileSync(cfg, 'timeouts: {monitor: 1s}\n');
    inst.writeSpec('web.yaml', inst.spec('web', { userns: 'auto' }));
    try {
      const r = pocker(inst, 'reconcile', ['--once', '--config', cfg], { env: { POCKER_MONITOR: slow }, timeoutMs: 30_000 });
      expect(r.status, r.stdout + r.stderr).toBe(1);
      expect(r.stdout).toMatch(/create\s+web\s+FAILED: the monitor did not report within 1000 ms \(killed it\)/);
      // The holder would block past strace's 3 s hold; allow for that and for strace's own exit.
      const deadline = Date.now() + 8_000;
      while (instanceProcesses(inst.dirs).length && Date.now() < deadline) spawnSync('sleep', ['0.1']);
      expect(instanceProcesses(inst.dirs)).toEqual([]);
      const again = pocker(inst, 'reconcile', ['--once'], { timeoutMs: 30_000 });
      expect(again.status, again.stdout + again.stderr).toBe(0);
      expect(again.stdout).toMatch(/create\s+web\s+ok/);
    } finally {
      for (const pid of instanceProcesses(inst.dirs)) spawnSync('kill', ['-9', String(pid)]);
    }
  });
});
