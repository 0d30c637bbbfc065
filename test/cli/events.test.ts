import { describe, expect, it } from 'vitest';
import { parseTime } from '../../reconciler/cli/events.js';

describe('pocker events --since/--until', () => {
  const now = Date.parse('2026-12-01T12:00:00Z');
  it('takes a duration back from now, an ISO time or epoch seconds', () => {
    expect(parseTime('since', '1h', now)).toBe(now - 3_600_000);
    expect(parseTime('since', '1h30m', now)).toBe(now - 5_400_000);
    expect(parseTime('since', '2026-12-01T10:00:00Z', now)).toBe(Date.parse('2026-12-01T10:00:00Z'));
    expect(parseTime('since', '1764583200', now)).toBe(1764583200_000);
  });
  it('refuses anything else, naming the forms', () => {
    expect(() => parseTime('since', 'yesterday', now)).toThrow(/--since yesterday: not a duration \(1h, 30m\) or a time/);
  });
});
