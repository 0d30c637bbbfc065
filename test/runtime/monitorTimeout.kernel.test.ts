import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

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
