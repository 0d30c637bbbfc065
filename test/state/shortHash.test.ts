import { describe, expect, it } from 'vitest';
import { shortHash } from '../../reconciler/state/shortHash.js';

describe('shortHash', () => {
  it('is 64-bit FNV-1a of the UTF-8 bytes (the published test vectors)', () => {
    expect(shortHash('')).toBe('cbf29ce484222325');
    expect(shortHash('a')).toBe('af63dc4c8601ec8c');
    expect(shortHash('foobar')).toBe('85944171f73967e8');
  });

  it('gives different names to nearby dirs and to non-ASCII ones', () => {
    const names = ['/etc/pocker.d', '/etc/pocker.e', '/etc/pocker.d/', '/srv/spécs', '/srv/specs'].map(shortHash);
    expect(new Set(names).size).toBe(names.length);
    for (const n of names) expect(n).toMatch(/^[0-9a-f]{16}$/);
  });
});
