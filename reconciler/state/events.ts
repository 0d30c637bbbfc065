/** Every kind of event pocker records, in the order a container's life usually shows them. */
export const EVENT_TYPES = [
  'create',
  'update',
  'recreate',
  'restart',
  'stop',
  'exit',
  'oom',
  'unhealthy',
  'healthy',
  'apply-failed',
  'spec-invalid',
  'image-updated',
  'rolled-back',
  'removed',
] as const;

/** One kind of event. */
export type EventType = (typeof EVENT_TYPES)[number];

/**
 * One thing that happened, as a line of the events journal (`<data-dir>/events/events.log`) and
 * as a hook reads it on stdin. Fields beyond these depend on the type: `reason` (actions,
 * restarts), `fields` (what an update changed), `exitCode`/`signal` (exits), `error`/`code`
 * (apply-failed), `file`/`line`/`message` (spec-invalid), `from`/`to` (image digests).
 */
export interface PockerEvent {
  /** When, as an ISO 8601 time (UTC). */
  time: string;
  type: EventType;
  /** The container, when the event is about one. */
  name?: string;
  /** The spec dir as given ("" for an ad-hoc container). */
  source?: string;
  /** Which process recorded it: the watching controller, `--once`, or an ad-hoc command. */
  by?: string;
  [field: string]: unknown;
}

/** An event before it is stamped with its time. */
export interface EventInput {
  time?: string;
  type: EventType;
  name?: string;
  source?: string;
  by?: string;
  [field: string]: unknown;
}

/** Where events go: the journal, the hooks, the metrics (each a sink); emit never throws. */
export interface EventSink {
  emit(e: EventInput): void;
}

/** A sink that drops everything (tests, dry runs). */
export const NO_EVENTS: EventSink = { emit: () => undefined };

/** A sink that keeps every event in memory (the recording fake of tests). */
export class RecordedEvents implements EventSink {
  readonly events: PockerEvent[] = [];
  emit(e: EventInput): void {
    this.events.push({ ...e, time: e.time ?? new Date().toISOString() } as PockerEvent);
  }
  /** The types recorded, in order, optionally for one container. */
  types(name?: string): EventType[] {
    return this.events.filter((e) => name === undefined || e.name === name).map((e) => e.type);
  }
}

/** A filter of `pocker events --filter` and of `--notify-on`: every key given must match. */
export interface EventFilter {
  names?: Set<string>;
  types?: Set<EventType>;
  sources?: Set<string>;
}

/** Parses `name=web,type=oom,type=exit` (a key given twice matches either value). */
export function parseEventFilter(texts: string[]): EventFilter | { error: string } {
  const f: { names?: Set<string>; types?: Set<EventType>; sources?: Set<string> } = {};
  for (const part of texts.flatMap((t) => t.split(',')).filter((p) => p.trim() !== '')) {
    const eq = part.indexOf('=');
    const key = eq < 0 ? '' : part.slice(0, eq).trim();
    const value = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (!value) return { error: `filter "${part}": expected KEY=VALUE with KEY one of name, type, source` };
    if (key === 'name') (f.names ??= new Set()).add(value);
    else if (key === 'source') (f.sources ??= new Set()).add(value);
    else if (key === 'type') {
      const types = parseEventTypes(value);
      if ('error' in types) return types;
      for (const t of types.types) (f.types ??= new Set()).add(t);
    } else return { error: `filter "${part}": unknown key "${key}" (name, type, source)` };
  }
  return f;
}

/** Parses a list of event types (`oom,restart`); an unknown one is an error naming the known ones. */
export function parseEventTypes(text: string): { types: EventType[] } | { error: string } {
  const types: EventType[] = [];
  for (const t of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(EVENT_TYPES as readonly string[]).includes(t)) return { error: `unknown event type "${t}" (one of ${EVENT_TYPES.join(', ')})` };
    types.push(t as EventType);
  }
  return { types };
}

/** Whether an event passes a filter. */
export function eventMatches(e: PockerEvent, f: EventFilter): boolean {
  if (f.types && !f.types.has(e.type)) return false;
  if (f.names && (e.name === undefined || !f.names.has(e.name))) return false;
  if (f.sources && (e.source === undefined || !f.sources.has(e.source))) return false;
  return true;
}

/** Checks that a parsed journal line is an event (time and a known type); returns it or null. */
export function asEvent(value: unknown): PockerEvent | null {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.time !== 'string' || Number.isNaN(Date.parse(o.time))) return null;
  if (typeof o.type !== 'string' || !(EVENT_TYPES as readonly string[]).includes(o.type)) return null;
  return o as PockerEvent;
}

const DETAIL_KEYS = ['reason', 'exitCode', 'signal', 'error', 'message', 'from', 'to', 'output'] as const;

/** One line for a terminal: time, type, container and what matters of the rest. */
export function formatEvent(e: PockerEvent): string {
  const where =
    e.type === 'spec-invalid' && typeof e.file === 'string' ? `${e.file}${e.line ? `:${String(e.line)}` : ''}` : (e.name ?? '-');
  const details: string[] = [];
  if (Array.isArray(e.fields) && e.fields.length) details.push(`fields=${e.fields.join(',')}`);
  for (const k of DETAIL_KEYS) if (e[k] !== undefined && e[k] !== null && e[k] !== '') details.push(`${k}=${JSON.stringify(e[k])}`);
  return `${e.time} ${e.type.padEnd(13)} ${where}${details.length ? `  ${details.join(' ')}` : ''}`;
}
