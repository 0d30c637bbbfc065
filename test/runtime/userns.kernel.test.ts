import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { containerPaths, usernsDir } from '../../reconciler/state/layout.js';
import type { IdRange } from '../../reconciler/state/userns.js';
import { instanceFlags, pocker, POCKER_BIN } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { makeProbeLayer } from '../helpers/probeLayer.js';
import { restoreBootId, simulateReboot } from '../helpers/reboot.js';
import { until } from '../helpers/wait.js';

/** The real, effective, saved and fs uids of a process as the host sees them. */
function hostUids(pid: number): number[] {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('Uid:'))!;
  return line.split(/\s+/).slice(1, 5).map(Number);
}

function childrenOf(pid: number): number[] {
  const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(' ').map(Number) : [];
}

/** Every entry of a tree with its type, mode, owner and content (or link target), in order. */
function treeSnapshot(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir).sort()) {
      const p = join(dir, e);
      const st = lstatSync(p);
      const what = st.isSymbolicLink()
        ? `-> ${readlinkSync(p)}`
        : st.isFile()
          ? createHash('sha256').update(readFileSync(p)).digest('hex')
          : st.isDirectory()
            ? 'dir'
            : `rdev ${st.rdev}`;
      out.push(`${p.slice(root.length)} ${st.mode.toString(8)} ${st.uid}:${st.gid} ${what}`);
      if (st.isDirectory()) walk(p);
    }
  };
  walk(root);
  return out;
}

/** The block device holding path, as devtmpfs names it (vda, loop0), and path relative to that filesystem's root. */
function blockDeviceOf(path: string): { device: string; inside: string } {
  const dev = statSync(path).dev;
  const majmin = `${Math.floor(dev / 256) & 0xfff}:${(dev & 0xff) | ((dev >> 12) & 0xfff00)}`;
  const uevent = readFileSync(`/sys/dev/block/${majmin}/uevent`, 'utf8');
  const mount = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === majmin && f[3] === '/' && (path === f[4] || path.startsWith(`${f[4] === '/' ? '' : f[4]}/`)))
    .sort((a, b) => b[4]!.length - a[4]!.length)[0]!;
  return { device: /DEVNAME=(\S+)/.exec(uevent)![1]!, inside: mount[4] === '/' ? path : path.slice(mount[4]!.length) };
}

describeKernel('user namespaces (userns: auto, the default) on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let probeLayer: string;
  const daemons: ChildProcess[] = [];
  beforeEach(() => {
    inst = current();
    probeLayer = makeProbeLayer(inst.root);
  });
  afterEach(() => {
    for (const d of daemons.splice(0)) if (d.exitCode === null && d.signalCode === null) d.kill('SIGKILL');
    restoreBootId();
  });

  const rangeOf = (name: string): IdRange => {
    const r = inst.container(name).record?.userns;
    if (!r) throw new Error(`${name} has no user namespace in its record`);
    return r;
  };
  const exec = (name: string, ...argv: string[]): string => {
    const r = pocker(inst, 'exec', [name, '--', ...argv]);
    expect(r.status, r.stderr).toBe(0);
    return r.stdout.trim();
  };
  const withProbe = (name: string, extra: Record<string, unknown> = {}) =>
    inst.spec(name, { image: { layers: [inst.layer, probeLayer] }, ...extra });
  const probe = (name: string, ...args: string[]): string => exec(name, 'pocker-probe', ...args);

  it('gives each container its own range: init, workload and exec are no one on the host and root inside; what it writes belongs to its range; ranges are disjoint', async () => {
    const layerBefore = treeSnapshot(inst.layer);
    const script = 'echo made > /made; mkdir -p /var/made; exec sleep 3600';
    inst.writeSpec('a.yaml', inst.spec('a', { command: ['sh', '-c', script] }));
    inst.writeSpec('b.yaml', inst.spec('b', { command: ['sh', '-c', script] }));
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    const [ra, rb] = [rangeOf('a'), rangeOf('b')];
    for (const range of [ra, rb]) {
      expect(range.size).toBe(65536);
      expect(range.uid).toBeGreaterThanOrEqual(2 ** 31);
    }
    expect(Math.abs(ra.uid - rb.uid)).toBeGreaterThanOrEqual(65536);
    expect(Math.abs(ra.gid - rb.gid)).toBeGreaterThanOrEqual(65536);

    const init = inst.pid('a');
    expect(hostUids(init)).toEqual([ra.uid, ra.uid, ra.uid, ra.uid]);
    const [workload] = childrenOf(init);
    expect(workload).toBeDefined();
    expect(hostUids(workload!)).toEqual([ra.uid, ra.uid, ra.uid, ra.uid]);

    expect(exec('a', 'id', '-u')).toBe('0');
    expect(exec('a', 'id', '-g')).toBe('0');
    expect(exec('a', 'cat', '/proc/self/uid_map').split(/\s+/)).toEqual(['0', String(ra.uid), '65536']);
    expect(exec('a', 'cat', '/proc/self/gid_map').split(/\s+/)).toEqual(['0', String(ra.gid), '65536']);
    expect(exec('b', 'cat', '/proc/self/uid_map').split(/\s+/)).toEqual(['0', String(rb.uid), '65536']);
    // An exec'd command is in the namespace too: from the host it is the range's root.
    const execSleep = spawn(process.execPath, [POCKER_BIN, 'exec', ...instanceFlags(inst), 'a', '--', 'sleep', '30'], { stdio: 'ignore' });
    daemons.push(execSleep);
    let sleeper: number | undefined;
    await until(() => {
      sleeper = readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .map(Number)
        .find((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8') === 'sleep\u000030\u0000';
          } catch {
            return false;
          }
        });
      return sleeper !== undefined;
    }, 'the exec command running');
    expect(hostUids(sleeper!)).toEqual([ra.uid, ra.uid, ra.uid, ra.uid]);
    execSleep.kill('SIGKILL');

    const upper = containerPaths(inst.dirs, 'a').upper;
    for (const p of ['made', 'var/made', '.']) {
      const st = statSync(join(upper, p));
      expect([st.uid, st.gid], p).toEqual([ra.uid, ra.gid]);
    }
    expect(statSync(join(containerPaths(inst.dirs, 'b').upper, 'made')).uid).toBe(rb.uid);
    // The layer is shared as it was: owned by host root, nothing copied or chowned.
    expect(exec('a', 'stat', '-c', '%u:%g', '/bin/busybox')).toBe('0:0');
    expect(treeSnapshot(inst.layer)).toEqual(layerBefore);
  });

  it('keeps a range across a SIGKILLed controller and a reboot, releases it on removal and gives it to the next container', async () => {
    inst.writeSpec('a.yaml', inst.spec('a'));
    inst.writeSpec('b.yaml', inst.spec('b'));
    const controller = spawn(process.execPath, [POCKER_BIN, 'reconcile', ...instanceFlags(inst)], { stdio: 'ignore' });
    daemons.push(controller);
    await until(
      () => ['a', 'b'].every((n) => existsSync(containerPaths(inst.dirs, n).record) && inst.runningPid(n) !== null),
      'a and b running',
    );
    const [ra, rb] = [rangeOf('a'), rangeOf('b')];
    const pa = inst.pid('a');
    controller.kill('SIGKILL');
    await new Promise((r) => controller.once('exit', r));

    let r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(inst.pid('a')).toBe(pa);
    expect([rangeOf('a'), rangeOf('b')]).toEqual([ra, rb]);

    await simulateReboot(inst);
    r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(inst.pid('a')).not.toBe(pa);
    expect([rangeOf('a'), rangeOf('b')]).toEqual([ra, rb]);
    expect(hostUids(inst.pid('a'))[0]).toBe(ra.uid);
    expect(readdirSync(usernsDir(inst.dirs)).sort()).toEqual([String(ra.uid), String(rb.uid)].sort());

    inst.removeSpec('a.yaml');
    r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(readdirSync(usernsDir(inst.dirs))).toEqual([String(rb.uid)]);
    inst.writeSpec('c.yaml', inst.spec('c'));
    r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(rangeOf('c')).toEqual(ra);
  });

  it('shares a named volume between two ranges (stored unshifted) and idmaps bind mounts unless idmap: false', async () => {
    const dir = join(inst.root, 'host-dir');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'owned-by-root'), 'host\n', { mode: 0o644 });
    const common = { volumes: [{ name: 'shared', target: '/data' }] };
    inst.writeSpec('w.yaml', inst.spec('w', { ...common, mounts: [{ source: dir, target: '/mapped' }] }));
    inst.writeSpec('r.yaml', inst.spec('r', { ...common, mounts: [{ source: dir, target: '/unmapped', idmap: false }] }));
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(rangeOf('w').uid).not.toBe(rangeOf('r').uid);
    exec('w', 'sh', '-c', 'echo from-w > /data/note');
    expect(exec('r', 'cat', '/data/note')).toBe('from-w');
    exec('r', 'sh', '-c', 'echo from-r >> /data/note');
    const onDisk = join(inst.dirs.dataDir, 'volumes', 'shared', 'note');
    expect([statSync(onDisk).uid, statSync(onDisk).gid]).toEqual([0, 0]);
    expect(readFileSync(onDisk, 'utf8')).toBe('from-w\nfrom-r\n');

    expect(exec('w', 'stat', '-c', '%u', '/mapped/owned-by-root')).toBe('0');
    exec('w', 'sh', '-c', 'echo mapped >> /mapped/owned-by-root');
    expect(exec('r', 'stat', '-c', '%u', '/unmapped/owned-by-root')).toBe('65534');
    expect(pocker(inst, 'exec', ['r', '--', 'sh', '-c', 'echo x >> /unmapped/owned-by-root']).status).not.toBe(0);
    expect(readFileSync(join(dir, 'owned-by-root'), 'utf8')).toBe('host\nmapped\n');
  });

  it('runs exec health checks, files and secrets inside the namespace, owned as the spec says', async () => {
    writeFileSync(join(inst.secretsDir, 'token'), 's3cret', { mode: 0o600 });
    inst.writeSpec(
      'h.yaml',
      inst.spec('h', {
        user: '1000:1000',
        files: [{ target: '/etc/app.conf', content: 'x=1\n', mode: '0640', uid: 1000, gid: 1000 }],
        secrets: [{ name: 'token', target: '/run/secrets/token', mode: '0400', uid: 1000, gid: 1000 }],
        healthcheck: { exec: ['sh', '-c', 'test "$(id -u)" = 1000 && cat /etc/app.conf /run/secrets/token'], interval: '200ms' },
      }),
    );
    const r = await inst.reconcile({ waitMs: 30_000 });
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(r.converged?.done, JSON.stringify(r.converged)).toBe(true);
    expect(inst.container('h').health).toMatchObject({ status: 'healthy', lastExitCode: 0, lastOutput: 'x=1\ns3cret' });
    const range = rangeOf('h');
    expect(hostUids(inst.pid('h'))[0]).toBe(range.uid);
    expect(hostUids(childrenOf(inst.pid('h'))[0]!)[0]).toBe(range.uid + 1000);
    expect(exec('h', 'stat', '-c', '%u:%g %a', '/etc/app.conf', '/run/secrets/token').split('\n')).toEqual([
      '1000:1000 640',
      '1000:1000 400',
    ]);
  });

  it('refuses what only a user namespace stops (mount a host block device, remount a read-only bind read-write, write a host file bound with idmap: false, load a module), each shown to work with userns: host', async () => {
    const dir = join(inst.root, 'ro-src');
    mkdirSync(dir, { mode: 0o755 });
    writeFileSync(join(dir, 'x'), 'before\n');
    const hostFile = join(inst.root, 'host-file');
    writeFileSync(hostFile, 'host\n', { mode: 0o644 });
    const disk = blockDeviceOf(inst.specDir);
    const escapes = (userns: 'auto' | 'host') =>
      withProbe(`esc-${userns}`, {
        userns,
        capabilities: { add: ['SYS_ADMIN', 'SYS_MODULE'] },
        mounts: [
          { source: dir, target: '/ro', readOnly: true },
          { source: hostFile, target: '/host-file', idmap: false },
        ],
      });
    inst.writeSpec('auto.yaml', escapes('auto'));
    inst.writeSpec('host.yaml', escapes('host'));
    const r = await inst.reconcile();
    expect(r.ok, JSON.stringify(r.results)).toBe(true);
    expect(inst.container('esc-host').record?.userns).toBeUndefined();
    for (const name of ['esc-auto', 'esc-host']) exec(name, 'mkdir', '-p', '/devs', '/disk');

    // The host's device nodes (devtmpfs), then the disk holding this test's files.
    expect(probe('esc-auto', 'mount_fs', 'none', '/devs', 'devtmpfs')).toBe('EPERM');
    expect(probe('esc-auto', 'mknod_b', '/tmp/disk', '254', '0')).toBe('EPERM');
    // With the host's: the nodes come with devtmpfs, and a disk the host has mounted is mounted
    // again from its superblock, so not even a v1 devices cgroup is asked: the host's files, writable.
    expect(probe('esc-host', 'mount_fs', 'none', '/devs', 'devtmpfs')).toBe('ok');
    expect(probe('esc-host', 'mount_fs', `/devs/${disk.device}`, '/disk', 'ext4')).toBe('ok');
    expect(exec('esc-host', 'ls', `/disk${disk.inside}`).split('\n')).toContain('host.yaml');

    expect(probe('esc-auto', 'remount_rw', '/ro')).toBe('EPERM');
    expect(probe('esc-auto', 'write', '/ro/x', 'x')).toBe('EROFS');
    expect(probe('esc-host', 'remount_rw', '/ro')).toBe('ok');
    expect(pocker(inst, 'exec', ['esc-host', '--', 'sh', '-c', 'echo escaped > /ro/x']).status).toBe(0);
    expect(readFileSync(join(dir, 'x'), 'utf8')).toBe('escaped\n');

    expect(probe('esc-auto', 'write', '/host-file', 'x')).toBe('EACCES');
    expect(probe('esc-host', 'write', '/host-file', 'y')).toBe('ok');
    expect(readFileSync(hostFile, 'utf8')).toMatch(/^y/);

    // finit_module checks CAP_SYS_MODULE in the host's namespace first: EPERM, where the host's
    // root gets as far as the (bad) fd. A kernel built without modules has the call for no one.
    if (existsSync('/proc/modules')) {
      expect(probe('esc-auto', 'finit_module')).toBe('EPERM');
      expect(probe('esc-host', 'finit_module')).toBe('EBADF');
    } else {
      expect([probe('esc-auto', 'finit_module'), probe('esc-host', 'finit_module')]).toEqual(['ENOSYS', 'ENOSYS']);
    }
  });
});
