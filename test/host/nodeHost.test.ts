import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { sleep } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'pocker-nodehost-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const host = new NodeHost();

describe('NodeHost reads', () => {
  it('lists the subdirectories of a dir from the entry types, following symlinks', () => {
    const d = join(root, 'list');
    mkdirSync(join(d, 'a'), { recursive: true });
    mkdirSync(join(d, 'b'));
    writeFileSync(join(d, 'f'), '');
    symlinkSync(join(d, 'a'), join(d, 'to-a'));
    symlinkSync(join(d, 'f'), join(d, 'to-f'));
    symlinkSync(join(d, 'missing'), join(d, 'dangling'));
    expect(host.readSubdirs(d)!.sort()).toEqual(['a', 'b', 'to-a']);
    expect(host.readSubdirs(join(d, 'none'))).toBeNull();
    expect(host.readSubdirs(join(d, 'f'))).toBeNull();
  });

  it("changes a dir's stamp when a file is renamed into it, not when a file in it is appended to", async () => {
    const d = join(root, 'stamp');
    mkdirSync(d);
    writeFileSync(join(d, 'log'), 'one\n');
    const first = host.changeStamp(d)!;
    expect(first.changedAtMs).toBeGreaterThan(Date.now() - 60_000);
    writeFileSync(join(d, 'log'), 'two\n', { flag: 'a' });
    expect(host.changeStamp(d)).toEqual(first);
    // Past the coarse clock's tick of the dir's last change (what host.ts's SETTLED_MS is for).
    await sleep(20);
    writeFileSync(join(root, 'record.tmp'), '{}');
    renameSync(join(root, 'record.tmp'), join(d, 'record.json'));
    expect(host.changeStamp(d)!.id).not.toBe(first.id);
    expect(host.changeStamp(join(d, 'none'))).toBeNull();
  });
});
