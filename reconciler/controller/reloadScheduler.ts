/**
 * Coalesces reload requests: a burst of them runs the reload once at once (on the next turn of
 * the event loop) and once more `trailingMs` after the last one. chokidar drops a change event
 * that follows another on the same file within 50 ms (and re-reads a dir at most once a second),
 * so the trailing reload is what sees the final state of a burst of edits.
 */
export class ReloadScheduler {
  private queued = false;
  private trailing: NodeJS.Timeout | null = null;
  private cancelled = false;

  constructor(
    private readonly reload: () => void,
    private readonly trailingMs: number,
  ) {}

  /** A change was seen: reload soon, and again after the burst. */
  request(): void {
    if (this.cancelled) return;
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = setTimeout(() => {
      this.trailing = null;
      this.reload();
    }, this.trailingMs);
    if (this.queued) return;
    this.queued = true;
    setImmediate(() => {
      this.queued = false;
      if (!this.cancelled) this.reload();
    });
  }

  /** A reload is still to come. */
  get pending(): boolean {
    return this.queued || !!this.trailing;
  }

  /** No reload after this. */
  cancel(): void {
    this.cancelled = true;
    if (this.trailing) clearTimeout(this.trailing);
    this.trailing = null;
  }
}
