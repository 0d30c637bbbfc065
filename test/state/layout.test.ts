import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { containerPaths } from '../../reconciler/state/layout.js';

describe('containerPaths', () => {
  it('gives every path join would, whatever form the instance dirs are given in', () => {
    for (const [stateDir, dataDir] of [
      ['/run/pocker', '/var/lib/pocker'],
      ['/run/pocker/', '/var/lib/pocker//'],
      ['/', '/'],
      ['run/./p', '../data/x/..'],
    ] as const) {
      const p = containerPaths({ stateDir, dataDir, cgroupParent: 'pocker' }, 'web-1');
      const state = join(stateDir, 'web-1');
      const data = join(dataDir, 'containers', 'web-1');
      expect(p).toEqual({
        stateDir: state,
        pids: join(state, 'pids.json'),
        health: join(state, 'health.json'),
        dataDir: data,
        record: join(data, 'container.json'),
        exit: join(data, 'exit.json'),
        exitReported: join(data, 'exit.reported'),
        upper: join(data, 'upper'),
        work: join(data, 'work'),
        rootfs: join(data, 'rootfs'),
        log: join(data, 'container.log'),
        files: join(data, 'files'),
        secrets: join(data, 'secrets'),
        legacyRecord: join(state, 'record.json'),
        legacyExit: join(state, 'exit.json'),
      });
    }
  });
});
