import type { Host } from '../host/host.js';
import { QuietTimer } from './quietTimer.js';

/** How long the controller must have been quiet before it gives memory back, and how long work may go on without it. */
export const MEMORY_RELEASE_QUIET_MS = 1_000;
export const MEMORY_RELEASE_MAX_WAIT_MS = 2_000;

/**
 * Gives the memory a burst of work freed back to the kernel once the watching controller goes
 * quiet after it (and every maxWaitMs while work goes on). Node's allocations outside the JS heap
 * (buffers, libuv requests, compiled code's scratch space) come from malloc, whose freed pages stay
 * in the process between the long-lived allocations each container keeps: after 1000 creates they
 * were as much as the heap itself.
 */
export class MemoryRelease {
  private readonly timer: QuietTimer;

  constructor(host: Pick<Host, 'releaseFreeMemory'>, quietMs = MEMORY_RELEASE_QUIET_MS, maxWaitMs = MEMORY_RELEASE_MAX_WAIT_MS) {
    this.timer = new QuietTimer(quietMs, maxWaitMs, () => {
      this.timer.done();
      host.releaseFreeMemory();
    });
  }

  /** Work was done: release once it has been quiet for a while. */
  worked(): void {
    this.timer.poke();
  }

  stop(): void {
    this.timer.done();
  }
}
