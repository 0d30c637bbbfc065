import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { afterAll, beforeAll } from 'vitest';
import { join } from 'node:path';
import type { TestInstance } from './instance.js';

/** A block device node with its number. */
export interface BlockDevice {
  path: string;
  dev: string;
}

/**
 * A whole-disk block device of this host whose /dev node matches /sys/block (no I/O is done to
 * it: throttles are only configured). Loop devices first, they exist on every kernel with loop.
 */
export function someBlockDevice(): BlockDevice | null {
  const names = existsSync('/sys/block')
    ? readdirSync('/sys/block').sort((a, b) => Number(!a.startsWith('loop')) - Number(!b.startsWith('loop')) || a.localeCompare(b))
    : [];
  for (const name of names) {
    const dev = readFileSync(join('/sys/block', name, 'dev'), 'utf8').trim();
    const path = join('/dev', name);
    try {
      if (statSync(path).isBlockDevice()) return { path, dev };
    } catch {
      /* no node for it in /dev */
    }
  }
  return null;
}

/**
 * Attaches a new loop device to a sparse file of `mib` MiB under dir (loading the loop module
 * when it is not loaded or built in); returns it with detach().
 */
export function attachLoopDevice(dir: string, mib: number): BlockDevice & { detach: () => void } {
  if (!existsSync('/dev/loop-control')) execFileSync('modprobe', ['loop']);
  const file = join(dir, 'loop.img');
  writeFileSync(file, '');
  execFileSync('truncate', ['-s', `${mib}M`, file]);
  const path = execFileSync('losetup', ['--find', '--show', file], { encoding: 'utf8' }).trim();
  const dev = readFileSync(join('/sys/block', path.slice('/dev/'.length), 'dev'), 'utf8').trim();
  return { path, dev, detach: () => execFileSync('losetup', ['-d', path]) };
}

/** Registers beforeAll/afterAll hooks that give the file's tests a loop device of `mib` MiB (detached and deleted after them). */
export function useLoopDevice(mib: number): () => BlockDevice {
  let loop: (BlockDevice & { detach: () => void }) | undefined;
  let dir: string | undefined;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-loop-'));
    loop = attachLoopDevice(dir, mib);
  });
  afterAll(() => {
    loop?.detach();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });
  return () => loop!;
}

/** The throttle files of a container as the kernel prints them: v2 io.max; v1 the four blkio.throttle files. */
export function rawIo(inst: TestInstance, name: string): Record<string, string> {
  if (inst.driver.version === 'v2') return { 'io.max': inst.cgroupFile(name, 'io', 'io.max') };
  const f = (t: string): string => inst.cgroupFile(name, 'blkio', `blkio.throttle.${t}_device`);
  return { read_bps: f('read_bps'), write_bps: f('write_bps'), read_iops: f('read_iops'), write_iops: f('write_iops') };
}

/** Bytes the container has written to a device so far (v2 io.stat, v1 blkio.throttle.io_service_bytes). */
export function bytesWritten(inst: TestInstance, name: string, dev: string): number {
  if (inst.driver.version !== 'v2') {
    const line = inst
      .cgroupFile(name, 'blkio', 'blkio.throttle.io_service_bytes')
      .split('\n')
      .find((l) => l.startsWith(`${dev} Write `));
    return Number(line?.split(' ')[2] ?? 0);
  }
  const line = inst
    .cgroupFile(name, 'io', 'io.stat')
    .split('\n')
    .find((l) => l.startsWith(`${dev} `));
  return Number(/wbytes=(\d+)/.exec(line ?? '')?.[1] ?? 0);
}
