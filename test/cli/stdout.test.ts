import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { POCKER_BIN } from '../helpers/cli.js';

const built = join(packageRoot(), 'dist', 'reconciler', 'cli', 'stdout.js');
const withPrintLine = (body: string): string => `import(${JSON.stringify(built)}).then(({ printLine }) => { ${body} })`;

describe('printLine', () => {
  it('writes lines in order with console.log', () => {
    const r = spawnSync(
      process.execPath,
      ['-e', withPrintLine("printLine('one'); printLine('two \\u00e9'); console.log('three'); printLine('four');")],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
    );
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe('one\ntwo \u00e9\nthree\nfour\n');
  });

  it('writes a line larger than a pipe holds whole', () => {
    const r = spawnSync(process.execPath, ['-e', withPrintLine("printLine('x'.repeat(1 << 20));")], {
      encoding: 'utf8',
      maxBuffer: 4 << 20,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${'x'.repeat(1 << 20)}\n`);
  });

  it('ends quietly when the reader has gone away', async () => {
    const child = spawn(
      process.execPath,
      [
        '-e',
        withPrintLine(
          "process.stdin.on('end', () => { for (let i = 0; i < 1000; i++) printLine('x'.repeat(100)); require('node:fs').writeSync(2, 'done'); }); process.stdin.resume();",
        ),
      ],
      { stdio: ['pipe', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.destroy();
    child.stdin.end();
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(stderr).toBe('done');
    expect(code).toBe(0);
  });
});

describe('one-shot commands print without process.stdout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pocker-stdout-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('pocker --version and pocker validate', () => {
    // Preloaded with -r: tells on stderr, at exit, whether the process loaded Node's streams (which building process.stdout does).
    const probe = join(dir, 'module-list.cjs');
    writeFileSync(
      probe,
      "process.on('exit', () => require('node:fs').writeSync(2, 'streams loaded: ' + process.moduleLoadList.includes('NativeModule stream') + '\\n'));\n",
    );
    for (const args of [['--version'], ['validate', join(packageRoot(), 'examples', 'httpd.yaml')]]) {
      const r = spawnSync(process.execPath, ['-r', probe, POCKER_BIN, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout.trim()).not.toBe('');
      expect(r.stderr, `pocker ${args.join(' ')}`).toContain('streams loaded: false');
    }
  });
});
