import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';

/** Total swap of the host in KiB. */
export function swapTotalKiB(): number {
  return Number(/^SwapTotal:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
}

/**
 * Adds a temporary swap area of sizeMiB while fn runs and removes it afterwards, even when fn
 * fails. Uses a swap file (fallocate, mkswap, swapon), or zram where the root cannot hold one.
 */
export async function withSwap<T>(sizeMiB: number, fn: () => Promise<T>): Promise<T> {
  const file = `/var/tmp/pocker-test-swap-${process.pid}`;
  let device: string | null = null;
  try {
    execFileSync('fallocate', ['-l', `${sizeMiB}M`, file]);
    execFileSync('chmod', ['600', file]);
    execFileSync('mkswap', [file], { stdio: 'ignore' });
    execFileSync('swapon', [file], { stdio: 'ignore' });
    device = file;
  } catch {
    rmSync(file, { force: true });
    execFileSync('modprobe', ['zram']);
    const dev = execFileSync('zramctl', ['--find', '--size', `${sizeMiB}M`], { encoding: 'utf8' }).trim();
    execFileSync('mkswap', [dev], { stdio: 'ignore' });
    execFileSync('swapon', [dev]);
    device = dev;
  }
  try {
    return await fn();
  } finally {
    execFileSync('swapoff', [device]);
    if (device === file) rmSync(file, { force: true });
    else execFileSync('zramctl', ['--reset', device]);
  }
}
