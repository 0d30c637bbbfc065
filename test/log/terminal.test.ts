import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

const built = join(packageRoot(), 'dist', 'reconciler', 'log', 'terminal.js');
/** Prints whether stderr is a terminal, and whether finding out loaded the net module. */
const probe = `import(${JSON.stringify(built)}).then((m) => console.log(JSON.stringify({ tty: m.stderrIsTerminal(), net: process.moduleLoadList.includes('NativeModule net') })))`;

function run(stderr: 'pipe' | 'ignore'): { tty: boolean; net: boolean } {
  const r = spawnSync(process.execPath, ['-e', probe], { encoding: 'utf8', stdio: ['ignore', 'pipe', stderr] });
  return JSON.parse(r.stdout) as { tty: boolean; net: boolean };
}

describe('whether stderr is a terminal', () => {
  it('is no for a pipe, without building process.stderr (which loads net)', () => {
    expect(run('pipe')).toEqual({ tty: false, net: false });
  });

  it('is no for /dev/null, a character device that is not a terminal', () => {
    expect(run('ignore').tty).toBe(false);
  });

  it('is yes for a pty', () => {
    // script(1) runs the probe on a pty of its own; its stdout comes back through the pty too.
    const r = spawnSync('script', ['-qec', `"${process.execPath}" -e "$PROBE"`, '/dev/null'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, PROBE: probe },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toMatchObject({ tty: true });
  });
});
