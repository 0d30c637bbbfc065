import { describe, expect, it } from 'vitest';
import { SETTLED_MS, type ChangeStamp, type HostReader } from '../../reconciler/host/host.js';
import { observationStamp, stampHolds } from '../../reconciler/observe/stamp.js';
import type { InstanceDirs } from '../../reconciler/state/layout.js';

const dirs: InstanceDirs = { stateDir: '/run/pocker', dataDir: '/var/lib/pocker', cgroupParent: 'pocker' };

/** A host that knows only change stamps. */
function stamps(byPath: Record<string, ChangeStamp>): HostReader {
  return { changeStamp: (path: string) => byPath[path] ?? null } as unknown as HostReader;
}

describe('observationStamp', () => {
  const host = stamps({
    '/var/lib/pocker/containers/web': { id: 'data-1', changedAtMs: 1_000 },
    '/run/pocker/web': { id: 'state-1', changedAtMs: 1_020 },
  });

  it("stamps a container's data dir and state dir", () => {
    expect(observationStamp(host, dirs, 'web', 2_000)).toEqual({ dirs: 'data-1|state-1', settled: true });
    expect(observationStamp(stamps({}), dirs, 'web', 2_000)).toEqual({ dirs: '-|-', settled: true });
  });

  it('is settled only when both dirs have been left alone for SETTLED_MS (the coarse clock may lag one tick)', () => {
    expect(observationStamp(host, dirs, 'web', 1_020 + SETTLED_MS).settled).toBe(true);
    expect(observationStamp(host, dirs, 'web', 1_020 + SETTLED_MS - 1).settled).toBe(false);
  });

  it('holds while the dirs are stamped the same, after a settled read only', () => {
    const earlier = observationStamp(host, dirs, 'web', 2_000);
    expect(stampHolds(earlier, { dirs: 'data-1|state-1', settled: true })).toBe(true);
    expect(stampHolds(earlier, { dirs: 'data-2|state-1', settled: true })).toBe(false);
    expect(stampHolds({ ...earlier, settled: false }, { dirs: 'data-1|state-1', settled: true })).toBe(false);
    expect(stampHolds(undefined, earlier)).toBe(false);
  });
});
