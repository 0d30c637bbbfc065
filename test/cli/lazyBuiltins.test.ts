import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';

const root = packageRoot();
const dir = mkdtempSync(join(tmpdir(), 'pocker-builtins-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Node's built-in modules a bin/pocker run loaded, as it exited. */
function builtinsLoadedBy(args: string[]): string[] {
  const preload = join(dir, 'report.cjs');
  const out = join(dir, `loaded-${args[0]}.json`);
  writeFileSync(
    preload,
    `process.on('exit', () => require('node:fs').writeFileSync(${JSON.stringify(out)}, JSON.stringify(process.moduleLoadList)));\n`,
  );
  const r = spawnSync(process.execPath, ['-r', preload, join(root, 'bin', 'pocker'), ...args], {
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  expect(r.status, r.stderr).toBe(0);
  return (JSON.parse(readFileSync(out, 'utf8')) as string[]).filter((m) => m.startsWith('NativeModule ')).map((m) => m.slice(13));
}

describe('what one-shot commands load of Node', () => {
  it('--version, validate, ps and plan (nothing to parse) load neither node:crypto nor node:fs/promises: they hash nothing and write nothing durably', () => {
    const instance = ['--state-dir', join(dir, 'state'), '--data-dir', join(dir, 'data')];
    const specs = join(dir, 'specs');
    mkdirSync(specs);
    for (const args of [
      ['--version'],
      ['validate', join(root, 'examples', 'httpd.yaml')],
      ['ps', ...instance],
      ['plan', '--dir', specs, ...instance],
    ]) {
      const loaded = builtinsLoadedBy(args);
      expect(loaded, args.join(' ')).toContain('fs');
      expect(
        loaded.filter((m) => m === 'crypto' || m === 'fs/promises'),
        args.join(' '),
      ).toEqual([]);
    }
  });
});
