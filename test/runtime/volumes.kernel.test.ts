import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, expect, it } from 'vitest';
import { volumePath } from '../../reconciler/state/layout.js';
import { pocker as runPocker } from '../helpers/cli.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';

describeKernel('named volumes and tmpfs on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  beforeEach(() => {
    inst = current();
  });
  const pocker = (verb: string, ...args: string[]) => runPocker(inst, verb, args);
  const sh = (name: string, script: string) => pocker('exec', name, '--', 'sh', '-c', script);

  it('a volume is shared, survives a recreate and the removal of its containers, and is refused to rm while used or named', () => {
    inst.writeSpec('a.yaml', inst.spec('a', { volumes: [{ name: 'data', target: '/data' }] }));
    inst.writeSpec('b.yaml', inst.spec('b', { volumes: [{ name: 'data', target: '/mnt/shared', readOnly: true }] }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(sh('a', 'echo kept > /data/f').status).toBe(0);
    expect(sh('b', 'cat /mnt/shared/f').stdout).toBe('kept\n');
    const ro = sh('b', 'echo x > /mnt/shared/g');
    expect(ro.status).not.toBe(0);
    expect(ro.stderr).toMatch(/Read-only file system/);
    expect(statSync(volumePath(inst.dirs, 'data')).mode & 0o777).toBe(0o755);
    expect(statSync(join(inst.dirs.dataDir, 'volumes')).mode & 0o777).toBe(0o700);

    const pid = inst.pid('a');
    inst.writeSpec('a.yaml', inst.spec('a', { command: ['sleep', '3601'], volumes: [{ name: 'data', target: '/data' }] }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(inst.pid('a')).not.toBe(pid);
    expect(sh('a', 'cat /data/f').stdout).toBe('kept\n');

    const used = pocker('volume', 'rm', 'data');
    expect(used.status).toBe(1);
    expect(used.stderr).toMatch(/data is used by a, b/);
    const ls = pocker('volume', 'ls', '-o', 'json');
    expect(JSON.parse(ls.stdout)).toEqual([
      { name: 'data', path: volumePath(inst.dirs, 'data'), usedBy: ['a', 'b'], namedBy: ['a.yaml (a)', 'b.yaml (b)'] },
    ]);

    inst.removeSpec('a.yaml');
    inst.removeSpec('b.yaml');
    expect(pocker('reconcile', '--once', '--allow-empty').status).toBe(0);
    expect(inst.actual().containers.size).toBe(0);
    expect(readFileSync(join(volumePath(inst.dirs, 'data'), 'f'), 'utf8')).toBe('kept\n');

    inst.writeSpec('c.yaml', inst.spec('c', { volumes: [{ name: 'data', target: '/data' }] }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    expect(sh('c', 'cat /data/f').stdout).toBe('kept\n');
    inst.removeSpec('c.yaml');
    expect(pocker('reconcile', '--once', '--allow-empty').status).toBe(0);
    inst.writeSpec('n1.yaml', inst.spec('n1', { volumes: [{ name: 'named', target: '/n' }] }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    inst.removeSpec('n1.yaml');
    expect(pocker('reconcile', '--once', '--allow-empty').status).toBe(0);
    // Not reconciled yet: no container uses it, but a spec of a known spec dir names it.
    inst.writeSpec('n2.yaml', inst.spec('n2', { volumes: [{ name: 'named', target: '/n' }] }));
    const named = pocker('volume', 'rm', 'named', 'data');
    expect(named.status).toBe(1);
    expect(named.stderr).toMatch(/nothing is removed: named is named by n2.yaml \(n2\)/);
    expect(statSync(volumePath(inst.dirs, 'data')).isDirectory()).toBe(true);
    const prune = pocker('volume', 'prune');
    expect(prune.status, prune.stderr).toBe(0);
    expect(prune.stdout).toBe('removed data\n');
    expect(() => statSync(volumePath(inst.dirs, 'data'))).toThrow();
    expect(statSync(volumePath(inst.dirs, 'named')).isDirectory()).toBe(true);
  });

  it('tmpfs: mounted nosuid and nodev with its mode, and its size is enforced', () => {
    inst.writeSpec('t.yaml', inst.spec('t', { tmpfs: [{ target: '/scratch', size: '1Mi', mode: '0700' }, { target: '/tmp' }] }));
    expect(pocker('reconcile', '--once').status).toBe(0);
    const mounts = sh('t', 'grep " /scratch \\| /tmp " /proc/self/mountinfo').stdout;
    expect(mounts).toMatch(/\/scratch \S*nosuid,nodev\S* .* tmpfs tmpfs \S*size=1024k,mode=700/);
    expect(mounts).toMatch(/\/tmp \S*nosuid,nodev\S* .* tmpfs tmpfs \S*size=65536k/);
    expect(sh('t', 'stat -c %a /tmp /scratch').stdout).toBe('1777\n700\n');
    const fill = sh('t', 'dd if=/dev/zero of=/scratch/big bs=64k count=64; echo rc=$?; du -k /scratch/big');
    expect(fill.stdout + fill.stderr).toMatch(/No space left on device/);
    expect(fill.stdout).toMatch(/rc=1/);
    expect(Number(/^(\d+)\s/m.exec(fill.stdout.split('rc=1\n')[1] ?? '')?.[1])).toBeLessThanOrEqual(1024);
  });
});
