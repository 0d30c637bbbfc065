import type { HookRunner } from '../host/hookRunner.js';
import type { Logger } from '../log/logger.js';
import type { EventInput, EventSink, EventType, PockerEvent } from '../state/events.js';

/** Event types a hook is told of when --notify-on does not say. */
export const DEFAULT_NOTIFY_ON: readonly EventType[] = ['oom', 'restart', 'unhealthy', 'apply-failed', 'rolled-back'];

/** What `--notify-exec` runs and for what. */
export interface NotifyOptions {
  /** The hook program (absolute path; run with no arguments). */
  exec: string;
  on: readonly EventType[];
  /** Longest a hook may run before it is killed (default 10 s). */
  timeoutMs: number;
  /** Events waiting for the hook at most; more are dropped and counted (default 100). */
  queueLimit: number;
}

/** Defaults of the notify options besides the hook itself. */
export const DEFAULT_NOTIFY: Omit<NotifyOptions, 'exec'> = { on: DEFAULT_NOTIFY_ON, timeoutMs: 10_000, queueLimit: 100 };

/**
 * Runs the hook for each event it is told of, one at a time, never making the caller wait: emit
 * only queues. A full queue drops the event (counted); a hook that fails or hangs past its
 * timeout is logged and killed, and the next event goes on.
 */
export class Notifier implements EventSink {
  private readonly queue: PockerEvent[] = [];
  private running: Promise<void> | null = null;
  private closed = false;
  /** Events dropped because the queue was full. */
  dropped = 0;
  /** Hook runs that failed (non-zero, signal, timeout, could not start). */
  failures = 0;
  /** Hook runs done. */
  runs = 0;

  constructor(
    private readonly o: NotifyOptions,
    private readonly runner: HookRunner,
    private readonly log: Logger,
  ) {}

  emit(input: EventInput): void {
    if (this.closed || !this.o.on.includes(input.type)) return;
    if (this.queue.length >= this.o.queueLimit) {
      this.dropped++;
      if (this.dropped === 1 || this.dropped % 100 === 0)
        this.log.warn(
          { hook: this.o.exec, dropped: this.dropped },
          `notify hook ${this.o.exec} is behind: ${this.dropped} events dropped so far`,
        );
      return;
    }
    this.queue.push({ ...input, time: input.time ?? new Date().toISOString() } as PockerEvent);
    this.running ??= this.drain().finally(() => {
      this.running = null;
    });
  }

  private async drain(): Promise<void> {
    for (let e = this.queue.shift(); e && !this.closed; e = this.queue.shift()) {
      const r = await this.runner.run(this.o.exec, `${JSON.stringify(e)}\n`, this.o.timeoutMs);
      this.runs++;
      if (r.exitCode === 0 && !r.timedOut) continue;
      this.failures++;
      const why = r.timedOut
        ? `killed after ${this.o.timeoutMs} ms`
        : (r.error ?? (r.signal ? `killed by ${r.signal}` : `exited with ${String(r.exitCode)}`));
      this.log.warn(
        { hook: this.o.exec, event: e.type, container: e.name, output: r.output },
        `notify hook ${this.o.exec} (${e.type}): ${why}`,
      );
    }
  }

  /** Stops taking events; waits up to waitMs for the hook under way, then kills it. */
  async close(waitMs = 1000): Promise<void> {
    this.closed = true;
    this.queue.length = 0;
    if (this.running) await Promise.race([this.running, new Promise((r) => setTimeout(r, waitMs).unref())]);
    this.runner.stopAll();
  }
}
