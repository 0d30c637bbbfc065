import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const spec = (name?: string): string => `${name ? `name: ${name}\n` : ''}image: {layers: [/l]}\ncommand: [sleep, "1"]\n`;

describe('loadSpecDir', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-load-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reads only top-level *.yaml / *.yml files, skipping dotfiles, backups, ..data and subdirs', () => {
    writeFileSync(join(dir, 'a.yaml'), spec());
    writeFileSync(join(dir, 'b.yml'), spec());
    writeFileSync(join(dir, 'c.yaml~'), spec());
    writeFileSync(join(dir, '.d.yaml'), spec());
    writeFileSync(join(dir, 'e.yaml.bak'), spec());
    writeFileSync(join(dir, 'notes.txt'), 'hi');
    mkdirSync(join(dir, '..2026_11_26'));
    writeFileSync(join(dir, '..2026_11_26', 'f.yaml'), spec());
    symlinkSync('..2026_11_26', join(dir, '..data'));
    mkdirSync(join(dir, 'sub.yaml'));
    mkdirSync(join(dir, 'nested'));
    writeFileSync(join(dir, 'nested', 'g.yaml'), spec());
    const r = loadSpecDir(dir);
    expect(r.status).toBe('ok');
    expect(r.files).toEqual(['a.yaml', 'b.yml']);
    expect(r.desired.map((d) => d.spec.name)).toEqual(['a', 'b']);
  });

  it('follows symlinks to files (ConfigMap style)', () => {
    mkdirSync(join(dir, '..data'));
    writeFileSync(join(dir, '..data', 'web.yaml'), spec());
    symlinkSync('..data/web.yaml', join(dir, 'web.yaml'));
    expect(loadSpecDir(dir).desired.map((d) => d.spec.name)).toEqual(['web']);
  });

  it('fails both files of a duplicate name, naming the other file', () => {
    writeFileSync(join(dir, 'one.yaml'), spec('web'));
    writeFileSync(join(dir, 'two.yaml'), spec('web'));
    writeFileSync(join(dir, 'ok.yaml'), spec());
    const r = loadSpecDir(dir);
    expect(r.desired.map((d) => d.spec.name)).toEqual(['ok']);
    expect([...r.failedFiles].sort()).toEqual(['one.yaml', 'two.yaml']);
    expect(r.errors.map(formatSpecError).sort()).toEqual([
      `${join(dir, 'one.yaml')}:1:1: container name "web" is also defined in ${join(dir, 'two.yaml')}`,
      `${join(dir, 'two.yaml')}:1:1: container name "web" is also defined in ${join(dir, 'one.yaml')}`,
    ]);
  });

  it('marks a broken file failed and keeps the good ones', () => {
    writeFileSync(join(dir, 'good.yaml'), spec());
    writeFileSync(join(dir, 'bad.yaml'), 'name: [\n');
    const r = loadSpecDir(dir);
    expect(r.desired.map((d) => d.spec.name)).toEqual(['good']);
    expect([...r.failedFiles]).toEqual(['bad.yaml']);
  });

  it('refuses oversize and non-UTF-8 files', () => {
    writeFileSync(join(dir, 'big.yaml'), `# ${'x'.repeat(1 << 20)}\n${spec()}`);
    writeFileSync(join(dir, 'bin.yaml'), Buffer.from([0x6e, 0x61, 0x6d, 0x65, 0x3a, 0x20, 0xff, 0xfe, 0x0a]));
    const r = loadSpecDir(dir);
    expect(r.errors.map(formatSpecError)).toEqual([
      `${join(dir, 'big.yaml')}:1:1: file is larger than 1048576 bytes`,
      `${join(dir, 'bin.yaml')}:1:1: file is not valid UTF-8 text`,
    ]);
  });

  it('reports a dangling symlink as a failed file, never as a deletion', () => {
    symlinkSync('gone.yaml', join(dir, 'web.yaml'));
    const r = loadSpecDir(dir);
    expect(r.files).toEqual(['web.yaml']);
    expect([...r.failedFiles]).toEqual(['web.yaml']);
  });

  it('tells missing, unreadable and non-directory spec dirs apart from empty ones', () => {
    expect(loadSpecDir(dir).status).toBe('ok');
    expect(loadSpecDir(join(dir, 'nope')).status).toBe('missing');
    writeFileSync(join(dir, 'file'), '');
    expect(loadSpecDir(join(dir, 'file')).status).toBe('not-a-directory');
    if (process.getuid?.() !== 0) {
      mkdirSync(join(dir, 'locked'));
      chmodSync(join(dir, 'locked'), 0);
      expect(loadSpecDir(join(dir, 'locked')).status).toBe('unreadable');
    }
  });
});
