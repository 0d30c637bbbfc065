/**
 * The user namespaces of `userns: auto`: the pool of host ids they come from (an entry of
 * /etc/subuid and /etc/subgid) cut into ranges of USERNS_SLOT ids, and the range a container holds.
 * Pure: the host side (reading the files, reserving ranges) is runtime/userns.ts.
 */

import type { IdRange } from '../host/idRange.js';

export type { IdRange };

/** One pool is cut into ranges of this many ids; a container holds a whole number of them. */
export const USERNS_SLOT = 65536;

/** The entry of /etc/subuid and /etc/subgid the pool is read from, unless the instance config names another. */
export const DEFAULT_USERNS_POOL = 'pocker';

/** What setup adds to both files when the entry is missing: 32768 ranges of 65536 from 2^31. */
export const DEFAULT_POOL_LINE = `${DEFAULT_USERNS_POOL}:${2 ** 31}:${2 ** 31}`;

/** The highest id a range may reach: (uid_t)-1 means "no id" to the kernel. */
const MAX_ID = 2 ** 32 - 2;

/** A run of host ids of /etc/subuid or /etc/subgid. */
export interface IdSpan {
  start: number;
  count: number;
}

/** The pool of one instance: where its uid and gid ranges start and how many ranges there are. */
export interface IdPool {
  name: string;
  uid: IdSpan;
  gid: IdSpan;
  /** Ranges of USERNS_SLOT ids that fit in both spans (and below MAX_ID). */
  slots: number;
}

/** The first entry for name in /etc/subuid-style text ("name:start:count" lines), or null. */
export function subidEntry(text: string, name: string): IdSpan | null {
  for (const line of text.split('\n')) {
    const [n, start, count] = line.trim().split(':');
    if (n !== name || start === undefined || count === undefined) continue;
    const s = Number(start);
    const c = Number(count);
    if (Number.isSafeInteger(s) && Number.isSafeInteger(c) && s >= 0 && c > 0) return { start: s, count: c };
  }
  return null;
}

function slotsOf(span: IdSpan): number {
  const fit = Math.floor(span.count / USERNS_SLOT);
  const belowMax = Math.floor((MAX_ID + 1 - span.start) / USERNS_SLOT);
  return Math.max(0, Math.min(fit, belowMax));
}

/** The pool of the entries for name in the two files' texts; a problem saying what is missing otherwise. */
export function parsePool(name: string, subuid: string | null, subgid: string | null): { pool: IdPool } | { problem: string } {
  const uid = subuid === null ? null : subidEntry(subuid, name);
  const gid = subgid === null ? null : subidEntry(subgid, name);
  const missing = [...(uid ? [] : ['/etc/subuid']), ...(gid ? [] : ['/etc/subgid'])];
  if (missing.length)
    return {
      problem: `${missing.join(' and ')} ${missing.length > 1 ? 'have' : 'has'} no "${name}" entry for the user namespaces of userns: auto (add a line such as ${name === DEFAULT_USERNS_POOL ? DEFAULT_POOL_LINE : `${name}:${2 ** 31}:${2 ** 31}`}; scripts/setup.sh adds the default one)`,
    };
  const slots = Math.min(slotsOf(uid!), slotsOf(gid!));
  if (slots === 0) return { problem: `the "${name}" entries of /etc/subuid and /etc/subgid hold fewer than ${USERNS_SLOT} ids` };
  return { pool: { name, uid: uid!, gid: gid!, slots } };
}

/** How many slots a namespace of size ids takes. */
export function slotsFor(size: number): number {
  return Math.ceil(size / USERNS_SLOT);
}

/** The range of slots first..first+count-1 of the pool, mapping size ids. */
export function rangeAt(pool: IdPool, first: number, size: number): IdRange {
  return { uid: pool.uid.start + first * USERNS_SLOT, gid: pool.gid.start + first * USERNS_SLOT, size };
}

/** The slot indexes a range holds in the pool (none when it is not the pool's). */
export function slotsOfRange(pool: IdPool, r: IdRange): number[] {
  const off = r.uid - pool.uid.start;
  if (off < 0 || off % USERNS_SLOT || r.gid - pool.gid.start !== off) return [];
  const first = off / USERNS_SLOT;
  return Array.from({ length: slotsFor(r.size) }, (_, i) => first + i).filter((s) => s < pool.slots);
}

/** The lowest run of count free slots (used: the slots taken), or null when the pool has none left. */
export function firstFreeRun(pool: IdPool, used: ReadonlySet<number>, count: number): number | null {
  let run = 0;
  for (let s = 0; s < pool.slots; s++) {
    run = used.has(s) ? 0 : run + 1;
    if (run === count) return s - count + 1;
  }
  return null;
}

/** Whether a value read from a record is an IdRange. */
export function isIdRange(v: unknown): v is IdRange {
  const r = v as IdRange;
  return (
    typeof v === 'object' &&
    v !== null &&
    [r.uid, r.gid, r.size].every((n) => Number.isSafeInteger(n) && n >= 0) &&
    r.size > 0 &&
    r.uid + r.size - 1 <= MAX_ID &&
    r.gid + r.size - 1 <= MAX_ID
  );
}
