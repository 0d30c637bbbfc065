import type { Host } from '../host/host.js';
import type { ActualContainer } from '../observe/types.js';
import type { Action } from '../plan/types.js';
import type { ActionResult } from '../runtime/apply.js';
import { signalName } from '../spec/signals.js';
import type { EventInput, EventSink, PockerEvent } from '../state/events.js';
import { containerPaths, type InstanceDirs } from '../state/layout.js';
import type { SpecError } from '../spec/types.js';

/**
 * Fans every event out to its sinks (journal, hook, metrics) and keeps the last ones in memory
 * for the status page. A sink that throws is skipped; emit never throws.
 */
export class EventHub implements EventSink {
  private readonly last: PockerEvent[] = [];

  constructor(
    private readonly sinks: EventSink[],
    private readonly keep = 50,
  ) {}

  emit(input: EventInput): void {
    const e = { ...input, time: input.time ?? new Date().toISOString() } as PockerEvent;
    for (const s of this.sinks) {
      try {
        s.emit(e);
      } catch {
        // A sink's failure is its own to report; the others still get the event.
      }
    }
    this.last.push(e);
    if (this.last.length > this.keep) this.last.shift();
  }

  /** The last events, newest last. */
  recent(): readonly PockerEvent[] {
    return this.last;
  }
}

const ACTION_EVENT = {
  create: 'create',
  update: 'update',
  recreate: 'recreate',
  restart: 'restart',
  stop: 'stop',
  remove: 'removed',
} as const;

/** The event of an action's outcome: its kind (remove: removed) with its reason, or apply-failed with the error. */
export function actionEvent(source: string, action: Action, r: ActionResult): EventInput | null {
  if (action.kind === 'none') return null;
  const base = { name: r.name, source, reason: r.reason, durationMs: Math.round(r.durationMs) };
  if (!r.ok) return { ...base, type: 'apply-failed', action: r.kind, code: r.errorCode, error: r.error, terminal: !!r.terminal };
  const e: EventInput = { ...base, type: ACTION_EVENT[action.kind], ...(r.pid && { pid: r.pid }) };
  if (action.kind === 'update')
    e.fields = [
      ...action.changed,
      ...(action.files?.changes.map((c) => `${c.kind}:${c.target}`) ?? []),
      ...(action.firewall !== undefined ? ['firewall'] : []),
    ];
  return e;
}

/**
 * Reports a container's last exit once: an `exit` event (code, signal, how long it ran) and an
 * `oom` event when the kernel killed it for memory. Which exit was reported is kept next to the
 * record (called under the container's lock), so the controller, `--once` and a restarted
 * controller never report one twice.
 */
export function reportExit(host: Host, dirs: InstanceDirs, a: ActualContainer, events: EventSink): void {
  const exit = a.exit;
  if (!exit || a.initAlive || !a.record) return;
  const key = `${exit.startedAtMs}:${exit.finishedAtMs}`;
  const marker = containerPaths(dirs, a.name).exitReported;
  if (host.readFile(marker)?.trim() === key) return;
  const base = { name: a.name, source: a.record.source.dir };
  events.emit({
    ...base,
    type: 'exit',
    exitCode: exit.exitCode,
    signal: exit.signal ? signalName(exit.signal) : null,
    oomKilled: exit.oomKilled,
    ranMs: Math.max(0, exit.finishedAtMs - exit.startedAtMs),
    time: new Date(exit.finishedAtMs).toISOString(),
  });
  if (exit.oomKilled)
    events.emit({ ...base, type: 'oom', oomKillCount: exit.oomKillCount, time: new Date(exit.finishedAtMs).toISOString() });
  try {
    host.writeFileAtomic(marker, `${key}\n`, 0o600);
  } catch {
    // No data dir to keep the mark in (a record release 1 left in the state dir): told again by the next pass.
  }
}

/** The spec-invalid events of a load's errors not reported before (`seen` holds what was; it is updated). */
export function specErrorEvents(source: string, errors: readonly SpecError[], seen: Set<string>): EventInput[] {
  const now = new Set(errors.map((e) => `${e.file}:${e.line}:${e.col}:${e.message}`));
  const out: EventInput[] = [];
  for (const e of errors) {
    const key = `${e.file}:${e.line}:${e.col}:${e.message}`;
    if (seen.has(key)) continue;
    out.push({ type: 'spec-invalid', source, file: e.file, line: e.line, col: e.col, message: e.message });
  }
  seen.clear();
  for (const k of now) seen.add(k);
  return out;
}
