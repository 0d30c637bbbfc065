/** Go-style durations: `500ms`, `10s`, `1m30s`, `2h`. */

const PART = /([0-9]+(?:\.[0-9]+)?)(ms|s|m|h)/g;
const WHOLE = /^(?:[0-9]+(?:\.[0-9]+)?(?:ms|s|m|h))+$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Longest duration accepted anywhere in a spec (one day). */
export const MAX_DURATION_MS = 86_400_000;

/** Parses a duration into whole milliseconds, or returns an error message. */
export function parseDuration(value: string): { ms: number } | { error: string } {
  if (!WHOLE.test(value)) return { error: `"${value}" is not a duration (examples: 500ms, 10s, 1m30s)` };
  let ms = 0;
  for (const m of value.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  ms = Math.round(ms);
  if (ms > MAX_DURATION_MS) return { error: `"${value}" is longer than 24h` };
  return { ms };
}

/** Formats milliseconds compactly (`1m30s`, `250ms`), the inverse of parseDuration for whole units. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  let s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
