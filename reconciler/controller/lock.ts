import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../native.js';

/** How long a pass waits for another pass on the same state dir before giving up. */
export const LOCK_WAIT_MS = 30_000;

/** A held pass lock; release() lets the next pass in. */
export interface PassLock {
  release(): void;
}

/**
 * Serializes passes that share a state dir (two `reconcile --once` at the same time would both
 * create the same container): an exclusive flock on `<state-dir>/.lock`, which the kernel drops
 * when the holder dies, so a killed pass never blocks the next one.
 */
export async function acquirePassLock(stateDir: string, waitMs = LOCK_WAIT_MS): Promise<PassLock> {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const path = join(stateDir, '.lock');
  const fd = openSync(path, 'a+', 0o600);
  const n = native();
  const deadline = Date.now() + waitMs;
  while (!n.flock(fd, true)) {
    if (Date.now() > deadline) {
      let holder = '';
      try {
        holder = readFileSync(path, 'utf8').trim();
      } catch {
        /* unreadable: report without the pid */
      }
      closeSync(fd);
      throw Object.assign(new Error(`another pocker pass holds ${path}${holder ? ` (pid ${holder})` : ''}; waited ${waitMs} ms`), { code: 'POCKER_LOCKED', path });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid}\n`, 0);
  return { release: () => closeSync(fd) };
}
