import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { startExec } from '../../reconciler/host/execProcess.js';
import { execConfig } from '../../reconciler/runtime/exec.js';
import { monitorBinary } from '../../reconciler/native.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { pocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { makeProbeLayer } from '../helpers/probeLayer.js';
import { until } from '../helpers/wait.js';

describeKernel('nobody in: host users, capabilities, mount flags and the syscall filter', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let probeLayer: string;
  const cleanups: Array<() => void> = [];
  beforeEach(() => {
    inst = current();
    probeLayer = makeProbeLayer(inst.root);
  });
  afterEach(() => {
    for (const c of cleanups.splice(0).reverse()) c();
  });
  const withProbe = (name: string, extra: Record<string, unknown> = {}) =>
    inst.spec(name, { image: { layers: [inst.layer, probeLayer] }, ...extra });
  const execIn = (name: string, argv: string[]): Promise<string> => {
    const a = inst.container(name);
    const child = startExec(
      monitorBinary(),
      execConfig(a.record!.spec, a.pids!, inst.driver.placement(name), { argv }, !!a.record!.userns),
      'pipe',
    );
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (out += d));
    return new Promise((resolve) => child.on('exit', () => resolve(out.trim())));
  };
  const asNobody = (argv: string[]) =>
    spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', '--', ...argv], { encoding: 'utf8' });

  it('keeps every other host user out of the data dir and the state dir: a setuid file written inside cannot be run from the host', async () => {
    // The data dir's parent is as open as /var/lib: only pocker's own modes keep other users out.
    chmodSync(inst.root, 0o755);
    inst.writeSpec(
      'evil.yaml',
      withProbe('evil', { command: ['sh', '-c', 'cp /usr/local/bin/pocker-probe /tmp/p && chmod 4755 /tmp/p && exec sleep 3600'] }),
    );
    expect((await inst.reconcile()).ok).toBe(true);
    const planted = join(containerPaths(inst.dirs, 'evil').upper, 'tmp', 'p');
    await until(() => existsSync(planted) && (statSync(planted).mode & 0o4000) !== 0, 'the setuid file planted');
    // Through a shell, as a login of that user would: setpriv itself keeps root's capabilities
    // until the program it runs is exec'd.
    const run = asNobody(['/bin/sh', '-c', '"$0" euid', planted]);
    expect(run.stdout.trim()).not.toBe('0');
    expect(run.stderr).toMatch(/Permission denied/);
    for (const d of [
      inst.dirs.dataDir,
      inst.dirs.stateDir,
      join(inst.dirs.dataDir, 'containers'),
      containerPaths(inst.dirs, 'evil').dataDir,
      containerPaths(inst.dirs, 'evil').stateDir,
    ]) {
      expect((statSync(d).mode & 0o777).toString(8), d).toBe('700');
    }
  });

  it('repairs the modes of existing dirs at start-up, and says so', async () => {
    inst.writeSpec('web.yaml', inst.spec('web'));
    expect((await inst.reconcile()).ok).toBe(true);
    const open = [
      inst.dirs.dataDir,
      join(inst.dirs.dataDir, 'containers'),
      containerPaths(inst.dirs, 'web').dataDir,
      inst.dirs.stateDir,
      containerPaths(inst.dirs, 'web').stateDir,
    ];
    for (const d of open) chmodSync(d, 0o755);
    const r = pocker(inst, 'reconcile', ['--once', '--log-level', 'warn']);
    expect(r.status, r.stdout + r.stderr).toBe(0);
    for (const d of open) {
      expect(r.stderr).toContain(`made ${d} private to root (it had mode 0755)`);
      expect((statSync(d).mode & 0o777).toString(8), d).toBe('700');
    }
    expect(pocker(inst, 'reconcile', ['--once', '--log-level', 'warn']).stderr).not.toContain('private to root');
  });

  it('clears the inheritable and ambient capability sets, in the workload and in exec', async () => {
    inst.writeSpec('c.yaml', withProbe('c'));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await execIn('c', ['grep', '-E', '^Cap(Inh|Amb):', '/proc/self/status'])).toMatch(
      /^CapInh:\s+0000000000000000\s+CapAmb:\s+0000000000000000$/,
    );
    const workload = Number(
      readFileSync(`/proc/${inst.pid('c')}/task/${inst.pid('c')}/children`, 'utf8')
        .trim()
        .split(' ')[0],
    );
    expect(readFileSync(`/proc/${workload}/status`, 'utf8')).toMatch(/CapInh:\s+0000000000000000/);
  });

  it('makes a read-only bind mount read-only all the way down, submounts included', async () => {
    const src = join(inst.root, 'shared');
    mkdirSync(join(src, 'sub'), { recursive: true });
    expect(spawnSync('mount', ['-t', 'tmpfs', 'tmpfs', join(src, 'sub')]).status).toBe(0);
    cleanups.push(() => void spawnSync('umount', ['-l', join(src, 'sub')]));
    writeFileSync(join(src, 'sub', 'f'), 'host');
    inst.writeSpec('ro.yaml', withProbe('ro', { mounts: [{ source: src, target: '/data', readOnly: true }] }));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await execIn('ro', ['pocker-probe', 'write', '/data/sub/f', 'x'])).toBe('EROFS');
    expect(await execIn('ro', ['pocker-probe', 'mkdir', '/data/sub/d'])).toBe('EROFS');
    expect(await execIn('ro', ['cat', '/data/sub/f'])).toBe('host');
    expect(readFileSync(join(src, 'sub', 'f'), 'utf8')).toBe('host');
  });

  it("with network.mode host, the host's /sys and everything mounted below it (cgroupfs) are read-only", async () => {
    inst.writeSpec('h.yaml', withProbe('h', { network: { mode: 'host' } }));
    expect((await inst.reconcile()).ok).toBe(true);
    const probeDir = join(inst.driver.dirs('h')[0]!, '..', `escape-${process.pid}`);
    const inside = probeDir.replace(/^\/sys/, '/sys');
    expect(await execIn('h', ['pocker-probe', 'mkdir', inside])).toBe('EROFS');
    expect(existsSync(probeDir)).toBe(false);
    const sysMounts = (await execIn('h', ['cat', '/proc/self/mountinfo'])).split('\n').filter((l) => l.split(' ')[4]?.startsWith('/sys'));
    expect(sysMounts.length).toBeGreaterThan(1);
    for (const l of sysMounts) expect(l.split(' ')[5]!.split(','), l).toContain('ro');
  });

  it("filters syscalls as Docker's default profile does: personality, AF_VSOCK, clone namespaces; calls it does not know get ENOSYS", async () => {
    inst.writeSpec('s.yaml', withProbe('s'));
    inst.writeSpec('free.yaml', withProbe('free', { privileged: true }));
    expect((await inst.reconcile()).ok).toBe(true);
    expect(await execIn('s', ['pocker-probe', 'personality', '0xffffffff'])).toBe('ok');
    expect(await execIn('s', ['pocker-probe', 'personality', '0x0400000'])).toBe('EPERM');
    expect(await execIn('free', ['pocker-probe', 'personality', '0x0400000'])).toBe('ok');
    expect(await execIn('s', ['pocker-probe', 'socket', '40'])).toBe('EPERM');
    expect(await execIn('free', ['pocker-probe', 'socket', '40'])).not.toBe('EPERM');
    expect(await execIn('s', ['pocker-probe', 'clone_flags', String(0x10000000)])).toBe('EPERM');
    expect(await execIn('s', ['pocker-probe', 'clone_flags', '0'])).toBe('ok');
    expect(await execIn('s', ['pocker-probe', 'syscall', '1000'])).toBe('ENOSYS');
    expect(await execIn('s', ['pocker-probe', 'syscall', '167'])).toBe('EPERM');
  });
});
