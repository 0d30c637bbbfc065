import { join } from 'node:path';
import type { Host } from '../host/host.js';
import { RuntimeError } from '../host/errors.js';
import { containerPaths, usernsDir, type InstanceDirs } from '../state/layout.js';
import {
  DEFAULT_USERNS_POOL,
  USERNS_SLOT,
  firstFreeRun,
  isIdRange,
  parsePool,
  rangeAt,
  slotsFor,
  slotsOfRange,
  type IdPool,
  type IdRange,
} from '../state/userns.js';

/** The files the pool of host ids is read from. */
export const SUBID_FILES = { uid: '/etc/subuid', gid: '/etc/subgid' };

/** Reads the pool named by name from /etc/subuid and /etc/subgid; USERNS when an entry is missing. */
export function readPool(host: Host, name = DEFAULT_USERNS_POOL): IdPool {
  const r = parsePool(name, host.readFile(SUBID_FILES.uid), host.readFile(SUBID_FILES.gid));
  if ('problem' in r) throw new RuntimeError('USERNS', r.problem, { path: SUBID_FILES.uid });
  return r.pool;
}

function markerPath(dirs: InstanceDirs, hostUid: number): string {
  return join(usernsDir(dirs), String(hostUid));
}

/** The host uid that names each slot file of a range. */
function markerUids(r: IdRange): number[] {
  return Array.from({ length: slotsFor(r.size) }, (_, i) => r.uid + i * USERNS_SLOT);
}

/** The range recorded for a container in its record on disk, if any. */
export function recordedRange(host: Host, dirs: InstanceDirs, name: string): IdRange | undefined {
  const text = host.readFile(containerPaths(dirs, name).record);
  if (text === null) return undefined;
  try {
    const v = (JSON.parse(text) as { userns?: unknown }).userns;
    return isIdRange(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The slots this process knows to be taken, per host and slot dir: read from the dir once, then
 * kept up to date by this process's own reservations and releases. Another process's reservation
 * shows when its slot file refuses ours (and is added then); its releases are read back when the
 * pool looks full. So a reservation costs no directory read, however many containers there are.
 */
const knownTaken = new WeakMap<Host, Map<string, Set<number>>>();

function takenSlots(host: Host, dirs: InstanceDirs, pool: IdPool, fresh = false): Set<number> {
  let byDir = knownTaken.get(host);
  if (!byDir) knownTaken.set(host, (byDir = new Map()));
  const key = `${usernsDir(dirs)}\0${pool.uid.start}\0${pool.gid.start}`;
  let used = byDir.get(key);
  if (!used || fresh) byDir.set(key, (used = reservedSlots(host, dirs, pool)));
  return used;
}

function forgetSlots(host: Host, dirs: InstanceDirs, uids: readonly number[]): void {
  for (const [key, used] of knownTaken.get(host) ?? []) {
    if (!key.startsWith(`${usernsDir(dirs)}\0`)) continue;
    const [, uidStart] = key.split('\0');
    for (const uid of uids) used.delete((uid - Number(uidStart)) / USERNS_SLOT);
  }
}

/** The slots of the pool whose file exists (reserved by some container). */
function reservedSlots(host: Host, dirs: InstanceDirs, pool: IdPool): Set<number> {
  const used = new Set<number>();
  for (const e of host.readDir(usernsDir(dirs)) ?? []) {
    const uid = Number(e);
    if (!Number.isSafeInteger(uid)) continue;
    for (const s of slotsOfRange(pool, { uid, gid: pool.gid.start + (uid - pool.uid.start), size: 1 })) used.add(s);
  }
  return used;
}

/**
 * Removes the slot files whose container's record does not hold them (a removal or a create cut
 * short between the record and the file). Run only when the pool looks full: a file written an
 * instant before its record is then the one risk, and it needs a full pool.
 */
function reclaimStale(host: Host, dirs: InstanceDirs): void {
  for (const e of host.readDir(usernsDir(dirs)) ?? []) {
    const uid = Number(e);
    const owner = host.readFile(join(usernsDir(dirs), e))?.trim();
    if (!Number.isSafeInteger(uid) || !owner) continue;
    const held = recordedRange(host, dirs, owner);
    if (!held || !markerUids(held).includes(uid)) host.removeFile(join(usernsDir(dirs), e));
  }
}

/** Takes the slot files of r for name; false (having taken none) when one is another's. */
async function take(host: Host, dirs: InstanceDirs, name: string, r: IdRange): Promise<boolean> {
  const taken: number[] = [];
  let ok = false;
  try {
    for (const uid of markerUids(r)) {
      if (!(await host.createExclusive(markerPath(dirs, uid), `${name}\n`)) && host.readFile(markerPath(dirs, uid))?.trim() !== name)
        return false;
      taken.push(uid);
    }
    ok = true;
    return true;
  } finally {
    if (!ok) for (const t of taken) host.removeFile(markerPath(dirs, t));
  }
}

/**
 * Reserves a range of size host ids of the pool for a new container: `keep` (the range its last
 * record held) when it is still the pool's and big enough, else the lowest free run of slots. Each
 * slot is a file created exclusively under the data dir, so instances and commands racing for one
 * never both get it. The slots count as taken in this process before their files are written, so
 * starts running together each go to their own run instead of queueing on the same files. USERNS
 * when the pool is missing or full.
 */
export async function reserveRange(
  host: Host,
  dirs: InstanceDirs,
  name: string,
  size: number,
  poolName?: string,
  keep?: IdRange,
): Promise<IdRange> {
  const pool = readPool(host, poolName);
  const kept = keep && keep.size === size ? slotsOfRange(pool, keep) : [];
  if (keep && kept.length === slotsFor(size) && (await takeMarked(host, dirs, name, keep, kept, takenSlots(host, dirs, pool), true)))
    return keep;
  if (keep) releaseRange(host, dirs, name, keep);
  host.mkdir(usernsDir(dirs), 0o700);
  const need = slotsFor(size);
  for (let attempt = 0; attempt < 2; attempt++) {
    const used = takenSlots(host, dirs, pool, attempt > 0);
    for (let first = firstFreeRun(pool, used, need); first !== null; first = firstFreeRun(pool, used, need)) {
      const slots = Array.from({ length: need }, (_, i) => first + i);
      const r = rangeAt(pool, first, size);
      if (await takeMarked(host, dirs, name, r, slots, used, false)) return r;
    }
    reclaimStale(host, dirs);
  }
  throw new RuntimeError(
    'USERNS',
    `the "${pool.name}" pool has no ${need} free range${need > 1 ? 's' : ''} of ${USERNS_SLOT} ids left (${pool.slots} in all)`,
    {
      container: name,
      path: usernsDir(dirs),
    },
  );
}

/**
 * take, with slots marked in used while it writes: kept there once taken; on a refusal kept
 * (another holds them) unless unmarkRefused; on an error given back.
 */
async function takeMarked(
  host: Host,
  dirs: InstanceDirs,
  name: string,
  r: IdRange,
  slots: readonly number[],
  used: Set<number>,
  unmarkRefused: boolean,
): Promise<boolean> {
  const fresh = slots.filter((s) => !used.has(s));
  for (const s of fresh) used.add(s);
  let ok: boolean | undefined;
  try {
    ok = await take(host, dirs, name, r);
    return ok;
  } finally {
    if (ok === undefined || (!ok && unmarkRefused)) for (const s of fresh) used.delete(s);
  }
}

/** Gives back the slots of r that name holds (a slot file naming another container is left). */
export function releaseRange(host: Host, dirs: InstanceDirs, name: string, r: IdRange | undefined): void {
  if (!r) return;
  const released = markerUids(r).filter((uid) => host.readFile(markerPath(dirs, uid))?.trim() === name);
  for (const uid of released) host.removeFile(markerPath(dirs, uid));
  forgetSlots(host, dirs, released);
}
