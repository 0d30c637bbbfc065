import { describe, expect, it } from 'vitest';
import {
  convertDuration,
  octalMode,
  parseComposeBytes,
  parseComposeDuration,
  pockerDuration,
  quantity,
} from '../../reconciler/convert/units.js';
import { parseDuration } from '../../reconciler/spec/duration.js';
import { parseQuantity } from '../../reconciler/spec/quantity.js';

describe('compose units in the schema forms', () => {
  it('reads Go durations, rounding below a millisecond up', () => {
    expect(parseComposeDuration('1m30s')).toEqual({ ms: 90_000 });
    expect(parseComposeDuration('1h2m3.5s')).toEqual({ ms: 3_723_500 });
    expect(parseComposeDuration('250ms')).toEqual({ ms: 250 });
    expect(parseComposeDuration('100us')).toEqual({ ms: 1 });
    expect(parseComposeDuration('0')).toEqual({ ms: 0 });
    for (const bad of ['10', '', 'soon', '1x', '-1s', '5s3']) expect(parseComposeDuration(bad), bad).toHaveProperty('error');
  });

  it('writes durations pocker parses back to the same milliseconds', () => {
    for (const ms of [0, 1, 250, 1000, 1500, 90_000, 3_600_000, 3_723_000, 86_400_000]) {
      const text = pockerDuration(ms);
      expect(parseDuration(text), text).toEqual({ ms });
    }
    expect(pockerDuration(90_000)).toBe('1m30s');
    expect(convertDuration('25h')).toHaveProperty('error');
  });

  it("reads Docker's sizes (every unit binary) and writes exact quantities", () => {
    expect(parseComposeBytes('512m')).toEqual({ bytes: 512 * 2 ** 20 });
    expect(parseComposeBytes('1g')).toEqual({ bytes: 2 ** 30 });
    expect(parseComposeBytes('1024k')).toEqual({ bytes: 2 ** 20 });
    expect(parseComposeBytes('2.5GB')).toEqual({ bytes: 2.5 * 2 ** 30 });
    expect(parseComposeBytes('256mb')).toEqual({ bytes: 256 * 2 ** 20 });
    expect(parseComposeBytes(1048576)).toEqual({ bytes: 2 ** 20 });
    expect(parseComposeBytes('lots')).toHaveProperty('error');
    expect(quantity(512 * 2 ** 20)).toBe('512Mi');
    expect(quantity(1536 * 2 ** 20)).toBe('1536Mi');
    expect(quantity(1000)).toBe(1000);
    for (const b of [2 ** 30, 3 * 2 ** 20 + 512, 7]) expect(parseQuantity(quantity(b))).toEqual({ bytes: b });
  });

  it('writes modes as octal strings the schema takes', () => {
    expect(octalMode(0o440)).toBe('0440');
    expect(octalMode('0644')).toBe('0644');
    expect(octalMode('400')).toBe('0400');
    expect(octalMode(0o1777, true)).toBe('1777');
    expect(octalMode(0o1777)).toBeNull();
    expect(octalMode('rw')).toBeNull();
  });
});
