import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { terminateWorkload, type RuntimeContext } from '../../reconciler/runtime/container.js';
import { gatherFacts } from '../../reconciler/runtime/facts.js';
import { monitorBinary } from '../../reconciler/native.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeKernel('the init (PID 1 inside) on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  const ctx = (): RuntimeContext => ({ host: inst.host, driver: inst.driver, dirs: inst.dirs, facts: gatherFacts(inst.host, inst.driver), monitorBinary: monitorBinary() });
  const waitExit = async (name: string) => {
    for (let i = 0; i < 200 && !inst.container(name).exit; i++) await sleep(25);
    return inst.container(name).exit;
  };

  it('forwards SIGTERM to the workload and records its exit code', async () => {
    inst.writeSpec('t.yaml', inst.spec('t', { command: ['sh', '-c', 'trap "echo got TERM; exit 42" TERM; echo ready; while :; do sleep 0.05; done'], restart: 'never' }));
    expect((await inst.reconcile()).ok).toBe(true);
    await inst.waitForLog('t', /ready/);
    await terminateWorkload(ctx(), inst.container('t'), 5000);
    expect(await waitExit('t')).toMatchObject({ exitCode: 42, signal: 0, oomKilled: false });
    expect(inst.log('t')).toContain('got TERM');
  });

  it('exits with 128+signal when the workload is killed, and SIGKILLs after the grace period', async () => {
    inst.writeSpec('k.yaml', inst.spec('k', { command: ['sh', '-c', 'kill -KILL $$'], restart: 'never' }));
    inst.writeSpec('stubborn.yaml', inst.spec('stubborn', { command: ['sh', '-c', 'trap "" TERM; echo ready; while :; do sleep 0.05; done'], restart: 'never' }));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await waitExit('k')).toMatchObject({ exitCode: 137, signal: 0 });
    await inst.waitForLog('stubborn', /ready/);
    const t0 = Date.now();
    await terminateWorkload(ctx(), inst.container('stubborn'), 300);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(await waitExit('stubborn')).toMatchObject({ exitCode: -1, signal: 9 });
  });

  it('reaps orphaned zombies', async () => {
    const probe = 'for i in 1 2 3 4 5; do (sleep 0.05 &); done; sleep 0.5; echo "zombies=$(grep -l "^State:.*Z" /proc/[0-9]*/status 2>/dev/null | wc -l)"; exec sleep 3600';
    inst.writeSpec('z.yaml', inst.spec('z', { command: ['sh', '-c', probe] }));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await inst.waitForLog('z', /zombies=\d+/)).toMatch(/zombies=0/);
  });

  it('bind-mounts host paths read-write and read-only, and never lets a symlink in the image send a mount to the host', async () => {
    const rw = join(inst.root, 'rw');
    const ro = join(inst.root, 'ro');
    const hostSide = join(inst.root, 'hostside');
    const evilLayer = join(inst.root, 'evil-layer');
    for (const d of [rw, ro, hostSide, evilLayer]) mkdirSync(d);
    writeFileSync(join(ro, 'readme'), 'from host\n');
    symlinkSync(hostSide, join(evilLayer, 'escape'));
    const probe = 'echo hi > /data/rw/out; (echo x > /data/ro/out) 2>/dev/null && echo ro-writable || echo ro-refused; cat /data/ro/readme; echo > /escape/data/inside; echo done; exec sleep 3600';
    inst.writeSpec('m.yaml', inst.spec('m', {
      image: { layers: [inst.layer, evilLayer] },
      command: ['sh', '-c', probe],
      mounts: [{ source: rw, target: '/data/rw' }, { source: ro, target: '/data/ro', readOnly: true }, { source: rw, target: '/escape/data' }],
    }));
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    const log = await inst.waitForLog('m', /done/);
    expect(log).toContain('ro-refused');
    expect(log).toContain('from host');
    expect(readFileSync(join(rw, 'out'), 'utf8')).toBe('hi\n');
    expect(existsSync(join(rw, 'inside'))).toBe(true);
    expect(readdirSync(hostSide)).toEqual([]);
    expect(readFileSync('/proc/self/mountinfo', 'utf8')).not.toContain(hostSide);
  });

  it('sees the spec\'s environment, working directory and PATH lookup', async () => {
    inst.writeSpec('e.yaml', inst.spec('e', { command: ['sh', '-c', 'echo "pwd=$(pwd) g=$GREETING home=$HOME host=$HOSTNAME path=$PATH"; exec sleep 3600'], env: { GREETING: 'hi there' }, workingDir: '/srv/app' }));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await inst.waitForLog('e', /pwd=/)).toContain('pwd=/srv/app g=hi there home=/root host=e path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  });
});
