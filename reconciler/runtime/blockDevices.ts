import type { BlockDeviceLookup } from '../limits/io.js';
import type { DesiredContainer } from '../spec/types.js';
import { describeError } from '../host/errors.js';
import type { HostReader } from '../host/host.js';

/**
 * Resolves a block device path to its number ("MAJ:MIN"), or says why it cannot be throttled:
 * missing, not a block device, or a partition (the kernel throttles whole disks only).
 */
export function resolveBlockDevice(host: HostReader, path: string): BlockDeviceLookup {
  let node: ReturnType<HostReader['deviceNode']>;
  try {
    node = host.deviceNode(path);
  } catch (e) {
    return { error: `stat: ${describeError(e)}` };
  }
  if (node === null) return { error: 'no such file (ENOENT)' };
  if (node === 'other') return { error: 'not a block device' };
  const dev = `${node.major}:${node.minor}`;
  if (node.kind === 'char') return { error: `a character device (${dev}), not a block device` };
  if (host.kind(`/sys/dev/block/${dev}/partition`) === 'file')
    return { error: `a partition (${dev}); throttles apply to whole disks only` };
  return { dev };
}

/** Resolves every device path the desired containers throttle (each path once). */
export function resolveBlockDevices(host: HostReader, desired: readonly DesiredContainer[]): Record<string, BlockDeviceLookup> {
  const out: Record<string, BlockDeviceLookup> = {};
  for (const d of desired) for (const e of d.spec.resources.io ?? []) out[e.device] ??= resolveBlockDevice(host, e.device);
  return out;
}
