import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { SpecCache } from '../../reconciler/spec/cache.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';

const spec = (cmd: string): string => `image: {layers: [/l]}\ncommand: [sleep, "${cmd}"]\n`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('SpecCache', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-cache-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('reuses the parse of a settled, unchanged file and parses again once it changes', async () => {
    writeFileSync(join(dir, 'a.yaml'), spec('1'));
    await sleep(80);
    const cache = new SpecCache();
    const first = loadSpecDir(dir, undefined, cache).desired[0]!;
    expect(cache.size).toBe(1);
    expect(loadSpecDir(dir, undefined, cache).desired[0]).toBe(first);
    writeFileSync(join(dir, 'a.yaml'), spec('22'));
    const changed = loadSpecDir(dir, undefined, cache).desired[0]!;
    expect(changed).not.toBe(first);
    expect(changed.spec.command).toEqual(['sleep', '22']);
  });

  it('never trusts a file changed just before it was read: a same-size rewrite within one clock tick is seen', () => {
    const cache = new SpecCache();
    writeFileSync(join(dir, 'a.yaml'), spec('1'));
    expect(loadSpecDir(dir, undefined, cache).desired[0]!.spec.command).toEqual(['sleep', '1']);
    writeFileSync(join(dir, 'a.yaml'), spec('2'));
    expect(loadSpecDir(dir, undefined, cache).desired[0]!.spec.command).toEqual(['sleep', '2']);
    expect(cache.size).toBe(0);
  });

  it('forgets files that are gone, and round-trips through its file', async () => {
    writeFileSync(join(dir, 'a.yaml'), spec('1'));
    writeFileSync(join(dir, 'b.yaml'), spec('2'));
    await sleep(80);
    const cache = new SpecCache();
    const first = loadSpecDir(dir, undefined, cache);
    expect(cache.size).toBe(2);
    const file = join(dir, 'cache.json');
    cache.save(new NodeHost(), file);
    const again = SpecCache.load(new NodeHost(), file);
    expect(again.size).toBe(2);
    expect(loadSpecDir(dir, undefined, again).desired).toEqual(first.desired);
    unlinkSync(join(dir, 'b.yaml'));
    expect(loadSpecDir(dir, undefined, again).desired.map((d) => d.spec.name)).toEqual(['a']);
    expect(again.size).toBe(1);
    writeFileSync(file, '{not json');
    expect(SpecCache.load(new NodeHost(), file).size).toBe(0);
  });
});
