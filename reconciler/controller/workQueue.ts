import { backoffDelay, DEFAULT_BACKOFF } from '../plan/backoff.js';

/** What one run of a key's work asks of the queue (controller-runtime's Result). */
export interface WorkResult {
  /** Run again after this many ms (a wait the plan knows of: a restart backoff, an exit being recorded). */
  requeueAfterMs?: number;
  /** The work failed: run again after the failure backoff, which grows while it keeps failing. */
  failed?: boolean;
  /** The failure cannot be mended by trying again: no retry; the key waits for its next add (a change, a resync). */
  terminal?: boolean;
}

interface Slot {
  /** Asked for since the current run started: run once more. */
  dirty: boolean;
  running: Promise<void> | null;
  timer: NodeJS.Timeout | null;
  timerAt: number;
  /** Failures in a row (sets the next retry's delay). */
  failures: number;
}

/**
 * A work queue keyed by container name, as client-go's: one worker per key at a time (work on a
 * key asked for while it runs is done once more after), delayed adds (the earliest wins),
 * failures retried with the plan's backoff (100 ms doubling up to 5 min, reset by a success)
 * unless terminal, and idle(). The work function never throws to the queue: a thrown error counts as a failure.
 */
export class WorkQueue {
  private readonly slots = new Map<string, Slot>();
  private stopping = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly work: (key: string) => Promise<WorkResult | void>,
    private readonly onError: (key: string, e: unknown) => void,
    /** Whether something outside the queue still has work pending (idle() waits for it too). */
    private readonly busyElsewhere: () => boolean = () => false,
  ) {}

  /** Asks for the key's work, now or after delayMs. */
  add(key: string, delayMs = 0): void {
    if (this.stopping) return;
    let s = this.slots.get(key);
    if (!s) {
      s = { dirty: false, running: null, timer: null, timerAt: 0, failures: 0 };
      this.slots.set(key, s);
    }
    if (delayMs > 0) {
      const at = Date.now() + delayMs;
      if (s.timer && s.timerAt <= at) return;
      if (s.timer) clearTimeout(s.timer);
      s.timerAt = at;
      const slot = s;
      s.timer = setTimeout(() => {
        slot.timer = null;
        this.add(key);
      }, delayMs);
      return;
    }
    s.dirty = true;
    if (!s.running) s.running = this.run(key, s);
  }

  /** Whether the key has a delayed add pending and no run under way. */
  waiting(key: string): boolean {
    const s = this.slots.get(key);
    return !!s?.timer && !s.running;
  }

  /** Whether the key's work runs now or was asked for. */
  busy(key: string): boolean {
    const s = this.slots.get(key);
    return !!s && (!!s.running || s.dirty);
  }

  private async run(key: string, s: Slot): Promise<void> {
    try {
      while (s.dirty && !this.stopping) {
        s.dirty = false;
        let r: WorkResult | void;
        try {
          r = await this.work(key);
        } catch (e) {
          this.onError(key, e);
          r = { failed: true };
        }
        if (r?.failed) {
          s.failures++;
          if (!r.terminal) this.add(key, backoffDelay(s.failures - 1, DEFAULT_BACKOFF));
        } else {
          s.failures = 0;
          if (r?.requeueAfterMs !== undefined) {
            if (r.requeueAfterMs <= 0) s.dirty = true;
            else this.add(key, r.requeueAfterMs);
          }
        }
      }
    } finally {
      s.running = null;
      this.notifyIdle();
    }
  }

  /** True when no key runs or was asked for (delayed adds do not count). */
  isIdle(): boolean {
    return !this.busyElsewhere() && [...this.slots.values()].every((s) => !s.running && !s.dirty);
  }

  /** Resolves when the queue is idle (tests). */
  idle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Wakes idle() waiters if the queue is idle now. */
  notifyIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  /** Stops taking work, clears delayed adds and waits for the runs under way. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const s of this.slots.values()) if (s.timer) clearTimeout(s.timer);
    await Promise.all([...this.slots.values()].map((s) => s.running));
  }
}
