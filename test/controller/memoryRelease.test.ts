import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRelease } from '../../reconciler/controller/memoryRelease.js';

describe('MemoryRelease', () => {
  let releases: number;
  const host = { releaseFreeMemory: () => void releases++ };
  beforeEach(() => {
    releases = 0;
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('releases once the work has been quiet for the quiet period, and not again while nothing happens', () => {
    const r = new MemoryRelease(host, 1_000, 2_000);
    r.worked();
    vi.advanceTimersByTime(500);
    r.worked();
    vi.advanceTimersByTime(900);
    expect(releases).toBe(0);
    vi.advanceTimersByTime(100);
    expect(releases).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(releases).toBe(1);
    r.worked();
    vi.advanceTimersByTime(1_000);
    expect(releases).toBe(2);
  });

  it('releases every max wait while work goes on without a pause', () => {
    const r = new MemoryRelease(host, 1_000, 2_000);
    for (let t = 0; t < 10_000; t += 250) {
      r.worked();
      vi.advanceTimersByTime(250);
    }
    expect(releases).toBeGreaterThanOrEqual(4);
    expect(releases).toBeLessThanOrEqual(5);
    r.stop();
  });

  it('releases nothing after stop', () => {
    const r = new MemoryRelease(host, 1_000, 2_000);
    r.worked();
    r.stop();
    vi.advanceTimersByTime(10_000);
    expect(releases).toBe(0);
  });
});
