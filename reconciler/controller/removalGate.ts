import { lstatSync, statSync } from 'node:fs';
import type { Logger } from '../log/logger.js';
import type { ActualContainer } from '../observe/types.js';
import { decideRemovals, type HeldRemovals, type RemovalRules } from '../plan/removals.js';
import { QuietTimer } from './quietTimer.js';
import type { DirLoad } from '../spec/load.js';
import type { DesiredContainer } from '../spec/types.js';
import type { ContainerRecord } from '../state/records.js';

/** The digests of a spec's files and secrets (their contents are not in the hash: a source changes without its spec). */
const contentKey = (spec: Pick<DesiredContainer['spec'], 'files' | 'secrets'>): string =>
  [...spec.files, ...spec.secrets].map((f) => f.digest).join(',');

/** Key of what a container runs, or a spec asks for: a difference means "look at this container". */
const specKey = (d: Pick<DesiredContainer, 'hash' | 'source' | 'spec'>): string =>
  `${d.hash}|${d.source.file}|${d.source.doc}|${contentKey(d.spec)}`;
const recordKey = (r: ContainerRecord): string => specKey(r);

/** When the entries of a spec dir last changed: the latest mtime or ctime of the path and, for a symlink, of the dir it names. */
export function dirChangedAtMs(dir: string): number {
  let at = 0;
  for (const st of [() => lstatSync(dir), () => statSync(dir)]) {
    try {
      const s = st();
      at = Math.max(at, s.mtimeMs, s.ctimeMs);
    } catch {
      /* gone: its load says so */
    }
  }
  return at;
}

/** A removal decision waits for the dir to be quiet, but at most this long after the first change (or 20 quiet periods). */
const MAX_QUIET_WAIT_MS = 30_000;

/**
 * The watching controller's view of which containers are its spec dir's (from each observation of
 * them) and its removal decisions over them: one decision for every container no spec names,
 * all or nothing (decideRemovals), taken once the dir has been quiet for the removal delay and
 * remembered until a spec names a container again. What is held back, and why, is logged once per
 * reason.
 */
export class RemovalGate {
  /** Containers of this spec dir, and what their records say they run. */
  private readonly owned = new Map<string, { key: string; file: string }>();
  /** Removals the last decision allowed. */
  private readonly approved = new Set<string>();
  private heldNow: HeldRemovals | undefined;
  private readonly timer: QuietTimer;

  constructor(
    private readonly o: {
      dir: string;
      rules: RemovalRules;
      /** Quiet period of the dir before removals are decided. */
      delayMs: number;
      log: Logger;
      /** Called when what is held changes (the source status records it). */
      onHeldChange: () => void;
      /** The dir is quiet: read it again and decide on it (decide()). */
      onQuiet: () => void;
    },
  ) {
    this.timer = new QuietTimer(o.delayMs, Math.max(o.delayMs * 20, MAX_QUIET_WAIT_MS), () => this.quiet());
  }

  /** The dir changed and some container waits for removal: the quiet period starts again. */
  changed(): void {
    this.timer.poke();
  }

  /** Some container waits for removal (found by a resync): wait one quiet period unless one is under way. */
  ensureDecision(): void {
    this.timer.ensure();
  }

  /** A decision is still to come. */
  get pending(): boolean {
    return this.timer.pending;
  }

  /** No decision after this. */
  cancel(): void {
    this.timer.cancel();
  }

  /**
   * The quiet period is over: one decision on every removal, on the dir as it stands now. Quiet
   * is the dir's own: its entries (and those of the dir a symlink names) must have stopped
   * changing for the whole period, whatever events are still on their way to this process.
   */
  private quiet(): void {
    const quietFor = Date.now() - dirChangedAtMs(this.o.dir);
    if (quietFor < this.o.delayMs && !this.timer.overdue) {
      this.timer.later(this.o.delayMs - quietFor);
      return;
    }
    this.o.onQuiet();
  }

  /** Removals held back by the last decision, if any. */
  get held(): HeldRemovals | undefined {
    return this.heldNow;
  }

  /** Records what an observation says of a container (undefined: it is gone). Returns whether it is this dir's. */
  note(name: string, now: ActualContainer | null | undefined): boolean {
    const ours = !!now?.record && now.record.source.dir === this.o.dir;
    if (ours) this.owned.set(name, { key: recordKey(now!.record!), file: now!.record!.source.file });
    else this.owned.delete(name);
    return ours;
  }

  /** Names of the containers of this dir. */
  ownedNames(): string[] {
    return [...this.owned.keys()];
  }

  /** Whether a desired container differs from what its container's record says it runs (or has no container). */
  differs(d: DesiredContainer): boolean {
    return this.owned.get(d.spec.name)?.key !== specKey(d);
  }

  /** A spec names the container (again): an earlier approval of its removal no longer holds. */
  revoke(name: string): void {
    this.approved.delete(name);
  }

  /** Whether the last decision allowed this removal. */
  mayRemove(name: string): boolean {
    return this.approved.has(name);
  }

  /** Containers of this dir that no spec names now (the kept containers of broken files aside). */
  candidates(load: DirLoad): string[] {
    const desired = new Set(load.desired.map((d) => d.spec.name));
    return [...this.owned].filter(([n, o]) => !desired.has(n) && !load.failedFiles.has(o.file)).map(([n]) => n);
  }

  /** One decision on every removal of the dir as loaded, ending the quiet wait: returns the names now allowed to go (none when held). */
  decide(load: DirLoad): string[] {
    this.timer.done();
    const decision = decideRemovals(this.o.dir, load.status, load.files.length, this.candidates(load), this.o.rules);
    if ('held' in decision) {
      this.setHeld(decision.held);
      return [];
    }
    this.setHeld(undefined);
    for (const name of decision.approved) this.approved.add(name);
    return decision.approved;
  }

  /** Nothing is waiting for removal any more. */
  clear(): void {
    if (this.heldNow) this.setHeld(undefined);
  }

  private setHeld(held: HeldRemovals | undefined): void {
    const changed = held?.reason !== this.heldNow?.reason;
    this.heldNow = held;
    if (!changed) return;
    if (held)
      (held.rule === 'cap' ? this.o.log.error : this.o.log.warn).call(this.o.log, { dir: this.o.dir, held: held.count }, held.reason);
    else this.o.log.info({ dir: this.o.dir }, 'removals are no longer held');
    this.o.onHeldChange();
  }
}
