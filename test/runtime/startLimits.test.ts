import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { packageRoot } from '../../reconciler/native.js';
import { argMaxFor, MONITOR_MAX_LIST, startSizeProblems } from '../../reconciler/runtime/startLimits.js';
import { containerPaths } from '../../reconciler/state/layout.js';
import { desired, specObj } from '../helpers/specs.js';

const paths = containerPaths({ stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' }, 'c');

describe('sizes the kernel or the monitor would refuse at start', () => {
  it("uses the monitor's own list limit", () => {
    const header = readFileSync(join(packageRoot(), 'native', 'monitor', 'config.h'), 'utf8');
    expect(Number(/#define MAX_LIST (\d+)/.exec(header)![1])).toBe(MONITOR_MAX_LIST);
  });

  it("computes execve's limit from the stack size as the kernel does", () => {
    expect(argMaxFor(8 * 2 ** 20)).toBe(2 * 2 ** 20);
    expect(argMaxFor(64 * 1024)).toBe(128 * 1024);
    expect(argMaxFor(Infinity)).toBe(6 * 2 ** 20);
  });

  it('finds nothing in an ordinary spec and each excess in a large one', () => {
    expect(startSizeProblems(desired(specObj('c')).spec, paths, argMaxFor(8 * 2 ** 20))).toEqual([]);
    const big = desired(specObj('c', { command: ['echo', ...Array.from({ length: 300 }, () => 'x'.repeat(1000))] })).spec;
    expect(startSizeProblems(big, paths, 200_000)).toEqual([
      'command has 301 arguments: the monitor takes at most 256',
      expect.stringMatching(/^command and env need \d+ bytes: the kernel takes at most 200000 \(a quarter of the stack size limit\)$/),
    ]);
    const layers = Array.from({ length: 60 }, (_, i) => `/var/lib/pocker/images/layers/sha256/${'a'.repeat(64)}${i}`);
    expect(startSizeProblems(desired(specObj('c', { image: { layers } })).spec, paths, argMaxFor(8 * 2 ** 20))).toEqual([
      expect.stringMatching(/^the overlay options \(60 layer paths\) are \d+ bytes: the kernel takes one page \(4096\)$/),
    ]);
  });
});
