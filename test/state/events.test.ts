import { describe, expect, it } from 'vitest';
import { eventMatches, formatEvent, parseEventFilter, parseEventTypes, type PockerEvent } from '../../reconciler/state/events.js';

describe('event filters and lines', () => {
  const e = (type: PockerEvent['type'], name?: string): PockerEvent => ({ time: '2026-12-01T10:00:00.000Z', type, ...(name && { name }) });

  it('a key given twice matches either value; different keys must all match', () => {
    const f = parseEventFilter(['name=web,name=db', 'type=oom']);
    if ('error' in f) throw new Error(f.error);
    expect(eventMatches(e('oom', 'web'), f)).toBe(true);
    expect(eventMatches(e('oom', 'db'), f)).toBe(true);
    expect(eventMatches(e('exit', 'web'), f)).toBe(false);
    expect(eventMatches(e('oom', 'cache'), f)).toBe(false);
    expect(eventMatches(e('spec-invalid'), f)).toBe(false);
    expect(eventMatches(e('exit'), {})).toBe(true);
  });

  it('unknown keys and types are refused, naming what exists', () => {
    expect(parseEventFilter(['colour=red'])).toEqual({ error: expect.stringMatching(/unknown key "colour" \(name, type, source\)/) });
    expect(parseEventFilter(['type=boom'])).toEqual({
      error: expect.stringMatching(/unknown event type "boom" \(one of create, .*removed\)/),
    });
    expect(parseEventFilter(['name'])).toEqual({ error: expect.stringMatching(/expected KEY=VALUE/) });
    expect(parseEventTypes('oom, restart')).toEqual({ types: ['oom', 'restart'] });
  });

  it('a line says when, what, which container or file:line, and the details', () => {
    expect(formatEvent({ ...e('exit', 'web'), exitCode: 3, signal: null })).toBe('2026-12-01T10:00:00.000Z exit          web  exitCode=3');
    expect(formatEvent({ ...e('spec-invalid'), file: '/specs/a.yaml', line: 4, message: 'bad' })).toBe(
      '2026-12-01T10:00:00.000Z spec-invalid  /specs/a.yaml:4  message="bad"',
    );
    expect(formatEvent({ ...e('update', 'web'), fields: ['memory', 'file:/etc/x'], reason: 'limits changed' })).toContain(
      'fields=memory,file:/etc/x reason="limits changed"',
    );
  });
});
