import { closeSync, openSync, readSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../reconciler/native.js';

describe('the addon spawn', () => {
  const devNull = openSync('/dev/null', 'r+');
  afterAll(() => closeSync(devNull));

  it('spawns on a worker thread with exactly the given fds, and reports what exec could not run', async () => {
    const n = native();
    const [rd, wr] = n.pipe();
    const pending = n.spawnAsync('/bin/sh', ['sh', '-c', 'echo "fd3 open"; ls /proc/self/fd | wc -l; exit 3'], ['PATH=/bin'], [devNull, wr, devNull]);
    const pid = await pending;
    n.close(wr);
    expect(n.waitpid(pid)).toEqual({ exitCode: 3, signal: null });
    const buf = Buffer.alloc(4096);
    const got = readSync(rd, buf, 0, buf.length, null);
    n.close(rd);
    const [first, count] = buf.subarray(0, got).toString('utf8').trim().split('\n');
    expect(first).toBe('fd3 open');
    // 0, 1 and 2, plus the dir fd ls reads /proc/self/fd through: nothing else of this process.
    expect(Number(count)).toBe(4);

    await expect(n.spawnAsync('/nonexistent/binary', ['x'], [], [devNull, devNull, devNull])).rejects.toMatchObject({
      code: 'ENOENT',
      syscall: 'posix_spawn',
      path: '/nonexistent/binary',
    });
  });
});
