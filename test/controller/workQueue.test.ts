import { describe, expect, it } from 'vitest';
import { WorkQueue, type WorkResult } from '../../reconciler/controller/workQueue.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('WorkQueue', () => {
  it('runs one worker per key at a time; an add during a run runs the key once more after it', async () => {
    let running = 0;
    let most = 0;
    let runs = 0;
    const q = new WorkQueue(
      async () => {
        running++;
        most = Math.max(most, running);
        runs++;
        await sleep(20);
        running--;
      },
      () => {},
    );
    q.add('a');
    q.add('a');
    await sleep(5);
    q.add('a');
    q.add('a');
    await q.idle();
    expect(most).toBe(1);
    expect(runs).toBe(2);
    await q.stop();
  });

  it('retries a failure with growing delays, and a terminal failure not at all until the next add', async () => {
    const at: Record<string, number[]> = { retry: [], terminal: [] };
    const q = new WorkQueue(
      async (key): Promise<WorkResult> => {
        at[key]!.push(Date.now());
        return { failed: true, ...(key === 'terminal' && { terminal: true }) };
      },
      () => {},
    );
    q.add('retry');
    q.add('terminal');
    await sleep(900);
    expect(at.terminal).toHaveLength(1);
    // 100, 200, 400 ms: four runs in 900 ms, each wait longer than the one before.
    expect(at.retry!.length).toBeGreaterThanOrEqual(4);
    const gaps = at.retry!.slice(1).map((t, i) => t - at.retry![i]!);
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThan(gaps[i - 1]!);
    q.add('terminal');
    await sleep(20);
    expect(at.terminal).toHaveLength(2);
    await q.stop();
  });

  it('requeues after the delay the work asks for, and at once for 0', async () => {
    let runs = 0;
    const q = new WorkQueue(
      async (): Promise<WorkResult> => (++runs === 1 ? { requeueAfterMs: 0 } : runs === 2 ? { requeueAfterMs: 100 } : {}),
      () => {},
    );
    q.add('a');
    await sleep(30);
    expect(runs).toBe(2);
    await sleep(150);
    expect(runs).toBe(3);
    await q.stop();
  });
});
