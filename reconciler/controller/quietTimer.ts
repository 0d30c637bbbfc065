/**
 * Fires once the events it is told of have stopped for delayMs, or maxWaitMs after the first of
 * them at the latest (a dir that never stops changing still gets its decisions).
 */
export class QuietTimer {
  private timer: NodeJS.Timeout | null = null;
  private firstAt = 0;
  /** A burst is being waited on (from its first event until done()). */
  private waitingSince = false;

  constructor(
    private readonly delayMs: number,
    private readonly maxWaitMs: number,
    private readonly fire: () => void,
  ) {}

  /** Another event: the quiet period starts again (within maxWaitMs of the first). */
  poke(): void {
    this.later(this.delayMs);
  }

  /** Fires after ms instead (within maxWaitMs of the first event); true when that limit is reached already. */
  later(ms: number): boolean {
    const now = Date.now();
    if (!this.timer && !this.waitingSince) this.firstAt = now;
    if (this.timer) clearTimeout(this.timer);
    const left = this.firstAt + this.maxWaitMs - now;
    const wait = Math.max(0, Math.min(ms, left));
    this.waitingSince = true;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fire();
    }, wait);
    return left <= 0;
  }

  /** The burst being waited on is over: the next event starts a new one. */
  done(): void {
    this.cancel();
    this.waitingSince = false;
  }

  /** Whether the first event of the burst is longer ago than maxWaitMs. */
  get overdue(): boolean {
    return this.waitingSince && Date.now() - this.firstAt >= this.maxWaitMs;
  }

  /** Waits one quiet period unless one is already under way. */
  ensure(): void {
    if (!this.timer) this.poke();
  }

  get pending(): boolean {
    return this.timer !== null;
  }

  cancel(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
