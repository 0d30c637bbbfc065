import { describe, expect, it } from 'vitest';
import { formatBytes, parseQuantity } from '../../reconciler/spec/quantity.js';
import { formatDuration, parseDuration } from '../../reconciler/spec/duration.js';
import { canonicalCpuList, formatCpuList, parseCpuList } from '../../reconciler/spec/cpuset.js';

describe('parseQuantity', () => {
  it('reads binary and decimal units as in Kubernetes', () => {
    expect(parseQuantity('64Mi')).toEqual({ bytes: 64 * 2 ** 20 });
    expect(parseQuantity('1Gi')).toEqual({ bytes: 2 ** 30 });
    expect(parseQuantity('100M')).toEqual({ bytes: 100_000_000 });
    expect(parseQuantity('2K')).toEqual({ bytes: 2000 });
    expect(parseQuantity('1.5Gi')).toEqual({ bytes: 1.5 * 2 ** 30 });
    expect(parseQuantity(4096)).toEqual({ bytes: 4096 });
    expect(parseQuantity('4096')).toEqual({ bytes: 4096 });
  });
  it('rounds fractional bytes up', () => {
    expect(parseQuantity('0.5Ki')).toEqual({ bytes: 512 });
    expect(parseQuantity('1.0000001K')).toEqual({ bytes: 1001 });
  });
  it('rejects nonsense with a message', () => {
    for (const bad of ['64MB', '-1', 'lots', '1e9', '', '1.5.2Mi', 'Mi']) expect(parseQuantity(bad)).toHaveProperty('error');
    expect(parseQuantity(1.5)).toHaveProperty('error');
    expect(parseQuantity('9Pi')).toHaveProperty('error');
  });
  it('formats with the largest exact unit', () => {
    expect(formatBytes(64 * 2 ** 20)).toBe('64Mi');
    expect(formatBytes(2 ** 30)).toBe('1Gi');
    expect(formatBytes(1000)).toBe('1000');
  });
});

describe('parseDuration', () => {
  it('reads Go-style durations', () => {
    expect(parseDuration('10s')).toEqual({ ms: 10_000 });
    expect(parseDuration('500ms')).toEqual({ ms: 500 });
    expect(parseDuration('1m30s')).toEqual({ ms: 90_000 });
    expect(parseDuration('1.5s')).toEqual({ ms: 1500 });
    expect(parseDuration('2h')).toEqual({ ms: 7_200_000 });
  });
  it('rejects bad or huge durations', () => {
    for (const bad of ['10', 's', '1d', '-1s', '1 s', '25h']) expect(parseDuration(bad)).toHaveProperty('error');
  });
  it('formats compactly', () => {
    expect(formatDuration(90_000)).toBe('1m30s');
    expect(formatDuration(250)).toBe('250ms');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(0)).toBe('0ms');
  });
});

describe('cpu lists', () => {
  it('parses to sorted sets and prints canonically', () => {
    expect(parseCpuList('3,0-1,1')).toEqual({ cpus: [0, 1, 3] });
    expect(formatCpuList([0, 1, 2, 5, 7, 8])).toBe('0-2,5,7-8');
    expect(canonicalCpuList('0,1')).toBe('0-1');
    expect(canonicalCpuList('0-1\n')).toBe('0-1');
    expect(canonicalCpuList('')).toBe('');
  });
  it('rejects backwards ranges and junk', () => {
    expect(parseCpuList('3-1')).toHaveProperty('error');
    expect(parseCpuList('a')).toHaveProperty('error');
    expect(parseCpuList('99999')).toHaveProperty('error');
  });
});
