import { describe, expect, it } from 'vitest';
import {
  firstFreeRun,
  isIdRange,
  parsePool,
  rangeAt,
  slotsFor,
  slotsOfRange,
  subidEntry,
  USERNS_SLOT,
} from '../../reconciler/state/userns.js';

const DEFAULT = 'pocker:2147483648:2147483648\n';

describe('the id pool of userns: auto', () => {
  it('reads the named entry of /etc/subuid and /etc/subgid and cuts it into ranges of 65536 below (uid_t)-1', () => {
    expect(subidEntry('root:100000:65536\npocker:2147483648:2147483648\npocker:1:1\n', 'pocker')).toEqual({
      start: 2 ** 31,
      count: 2 ** 31,
    });
    expect(subidEntry('# nothing\nroot:100000:65536', 'pocker')).toBeNull();
    const r = parsePool('pocker', DEFAULT, DEFAULT);
    expect('pool' in r && r.pool.slots).toBe(32767);
    const small = parsePool('p', 'p:100000:200000\n', 'p:300000:131072\n');
    expect('pool' in small && small.pool).toEqual({
      name: 'p',
      uid: { start: 100000, count: 200000 },
      gid: { start: 300000, count: 131072 },
      slots: 2,
    });
  });

  it('says which file lacks the entry, and what line to add', () => {
    const r = parsePool('pocker', DEFAULT, 'root:1:65536\n');
    expect('problem' in r && r.problem).toMatch(/^\/etc\/subgid has no "pocker" entry .*pocker:2147483648:2147483648/);
    const both = parsePool('other', null, null);
    expect('problem' in both && both.problem).toMatch(/^\/etc\/subuid and \/etc\/subgid have no "other" entry/);
    expect('problem' in parsePool('p', 'p:1:100\n', 'p:1:100\n')).toBe(true);
  });

  it('finds the lowest free run of slots and maps slots to ranges and back', () => {
    const r = parsePool('p', 'p:100000:655360\n', 'p:200000:655360\n');
    if (!('pool' in r)) throw new Error(r.problem);
    const pool = r.pool;
    expect(firstFreeRun(pool, new Set(), 1)).toBe(0);
    expect(firstFreeRun(pool, new Set([0, 1, 3]), 1)).toBe(2);
    expect(firstFreeRun(pool, new Set([0, 1, 3]), 2)).toBe(4);
    expect(firstFreeRun(pool, new Set([0, 1, 2, 3, 4, 5, 6, 7, 8]), 2)).toBeNull();
    expect(rangeAt(pool, 2, 65536)).toEqual({ uid: 100000 + 2 * USERNS_SLOT, gid: 200000 + 2 * USERNS_SLOT, size: 65536 });
    expect(slotsFor(65536)).toBe(1);
    expect(slotsFor(65537)).toBe(2);
    expect(slotsOfRange(pool, rangeAt(pool, 3, 131072))).toEqual([3, 4]);
    expect(slotsOfRange(pool, { uid: 5, gid: 5, size: 65536 })).toEqual([]);
    expect(isIdRange({ uid: 2 ** 31, gid: 2 ** 31, size: 65536 })).toBe(true);
    expect(isIdRange({ uid: 2 ** 32 - 65536, gid: 0, size: 65536 })).toBe(false);
    expect(isIdRange({ uid: 1, gid: 1 })).toBe(false);
  });
});
