import { mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { collected } from '../helpers/gc.js';
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

describe('NodeHost durable writes off the event loop', () => {
  it('replaces a file whole, with its mode, leaving no temp file, and many at once', async () => {
    const d = join(root, 'durable');
    mkdirSync(d);
    writeFileSync(join(d, 'r0.json'), 'old');
    await Promise.all(Array.from({ length: 20 }, (_, i) => host.writeFileDurableAsync(join(d, `r${i}.json`), `{"i":${i}}\n`, 0o640)));
    for (let i = 0; i < 20; i++) expect(readFileSync(join(d, `r${i}.json`), 'utf8')).toBe(`{"i":${i}}\n`);
    expect(statSync(join(d, 'r1.json')).mode & 0o777).toBe(0o640 & ~process.umask());
    expect(readdirSync(d).filter((f) => f.includes('.tmp'))).toEqual([]);
    await expect(host.writeFileDurableAsync(join(d, 'missing', 'r.json'), '{}')).rejects.toMatchObject({ code: 'ENOENT' });
    expect(readdirSync(d).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it("creates a file exclusively for exactly one of many racing for its name, with the winner's content", async () => {
    const d = join(root, 'exclusive');
    mkdirSync(d);
    const won = await Promise.all(Array.from({ length: 10 }, (_, i) => host.createExclusive(join(d, 'slot'), `c${i}\n`)));
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(readFileSync(join(d, 'slot'), 'utf8')).toBe(`c${won.indexOf(true)}\n`);
    expect(statSync(join(d, 'slot')).mode & 0o777).toBe(0o600);
    await expect(host.createExclusive(join(d, 'missing', 'slot'), 'x')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});

describe('NodeHost monitor start', () => {
  it('hands the config to the monitor through its memfd and keeps no reference to the Buffer while waiting for the report', async () => {
    const d = join(root, 'monitor');
    mkdirSync(d);
    const gate = join(d, 'gate');
    const monitor = join(d, 'monitor.sh');
    // argv: the config's path, the label (here the gate); fd 3 is the status pipe.
    // Waits for the gate (at most 10 s), then reports.
    const script =
      '#!/bin/sh\ncat "$1" > "$2.conf"\nfor i in $(seq 500); do [ -e "$2" ] && break; sleep 0.02; done\necho "error released" >&3\n';
    writeFileSync(monitor, script, { mode: 0o755 });
    let ref!: WeakRef<Buffer>;
    const start = (() => {
      const config = Buffer.from('name\0c\0'.repeat(4096));
      ref = new WeakRef(config);
      return host.startMonitor(monitor, config, { label: gate, timeoutMs: 20_000 });
    })();
    try {
      expect(await collected(ref)).toBe(true);
    } finally {
      writeFileSync(gate, '');
    }
    expect(await start).toEqual({ ok: false, message: 'released' });
    expect(readFileSync(`${gate}.conf`, 'utf8')).toBe('name\0c\0'.repeat(4096));
  });
});
