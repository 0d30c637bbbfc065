import type { EventSink } from '../state/events.js';
import type { CgroupDriver } from '../cgroups/driver.js';
import { describeError } from '../host/errors.js';
import { faultPoint } from '../host/faults.js';
import type { Host } from '../host/host.js';
import { pullImage } from '../image/pull.js';
import type { RegistryClient } from '../image/registry/client.js';
import type { Logger } from '../log/logger.js';
import { observeContainer } from '../observe/observe.js';
import { rollbackReason, updateDecision, windowPassed } from '../plan/autoUpdate.js';
import { loadSpecDir, type DirLoad, type Trust } from '../spec/load.js';
import type { DesiredContainer } from '../spec/types.js';
import { readAutoUpdate, writeAutoUpdate, type AutoUpdateState } from '../state/autoUpdate.js';
import type { InstanceDirs } from '../state/layout.js';
import { hostLookups } from './hostLookups.js';
import type { PassState } from './reconcileOne.js';
import { reconcileOne } from './reconcileOne.js';

/** What auto-updates act with. */
export interface AutoUpdaterOptions {
  /** The spec dir (the containers' source). */
  dir: string;
  host: Host;
  dirs: InstanceDirs;
  driver: CgroupDriver;
  log: Logger;
  secretsDir?: string;
  trust?: Trust;
  client: () => RegistryClient;
  concurrency: number;
  /** The pass a move is made through, for a load that pins the container to its new digest. */
  pass: (load: DirLoad) => PassState;
  /** The desired set the controller works from now. */
  desired: () => readonly DesiredContainer[];
  /** Told after a container was moved to another digest (the controller looks at it and its dependents). */
  moved?: (name: string) => void;
  now?: () => number;
  /** Jitter source in [0, 1) (tests fix it). */
  random?: () => number;
  /** Where updates and rollbacks are told. */
  events?: EventSink;
}

/** Share of an interval a check may come early or late, so containers of one reference do not all check at once. */
const JITTER = 0.1;

/** A registry reference of a desired container with autoUpdate (tags only: the schema refuses digests). */
function referenceOf(d: DesiredContainer): string | null {
  return d.spec.autoUpdate && d.spec.image ? d.spec.image.reference : null;
}

/**
 * The watching controller's auto-updates. Each reference used by containers with `autoUpdate` is
 * checked once per interval (the shortest of its containers', with jitter) by pulling it: a new
 * digest is in the store before anything changes, and a failed pull changes nothing. Each container
 * pinned elsewhere (and not to a digest marked bad for it) then moves through its normal pass,
 * with the host checks before the stop. For rollbackWindow it is watched: a failed exit, 3 restarts
 * or an unhealthy check moves it back to the previous digest (its layers are still in the store)
 * and marks the new one bad. Every step is recorded before it is taken, so a controller killed
 * half-way finishes or undoes it at start.
 */
export class AutoUpdater {
  private readonly nextCheck = new Map<string, number>();
  private running: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: AutoUpdaterOptions) {}

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  /** Finishes what a previous controller left under way, then ticks every second. */
  async start(): Promise<void> {
    for (const d of this.o.desired()) {
      const s = readAutoUpdate(this.o.host, this.o.dirs, d.spec.name);
      if (s && s.phase !== 'idle' && d.spec.autoUpdate) await this.resume(d.spec.name, s);
    }
    this.timer = setInterval(() => void this.tick(), 1000);
    this.timer.unref();
  }

  /** Stops ticking; resolves once the round under way (if any) is done. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One round: the references due are checked; the windows open are looked at. Never overlaps itself. */
  tick(): Promise<void> {
    this.running ??= this.round().finally(() => (this.running = null));
    return this.running;
  }

  private async round(): Promise<void> {
    try {
      const now = this.now();
      const byReference = new Map<string, DesiredContainer[]>();
      for (const d of this.o.desired()) {
        const ref = referenceOf(d);
        if (ref) byReference.set(ref, [...(byReference.get(ref) ?? []), d]);
      }
      for (const [ref, containers] of byReference) {
        const interval = Math.min(...containers.map((d) => d.spec.autoUpdate!.intervalMs));
        const due = this.nextCheck.get(ref);
        if (due === undefined) {
          this.nextCheck.set(ref, now + this.jittered(interval));
          continue;
        }
        if (now < due) continue;
        this.nextCheck.set(ref, now + this.jittered(interval));
        await this.check(ref, containers);
      }
      for (const d of this.o.desired()) if (d.spec.autoUpdate) await this.watch(d);
    } catch (e) {
      this.o.log.error({ error: describeError(e) }, `auto-update: ${describeError(e)}`);
    }
  }

  private jittered(interval: number): number {
    return Math.round(interval * (1 - JITTER + 2 * JITTER * (this.o.random ?? Math.random)()));
  }

  private state(name: string, reference: string): AutoUpdateState {
    return readAutoUpdate(this.o.host, this.o.dirs, name) ?? { phase: 'idle', reference, bad: [] };
  }

  private save(name: string, s: AutoUpdateState): void {
    writeAutoUpdate(this.o.host, this.o.dirs, name, s);
  }

  /** Pulls a reference (its digest now) and moves the containers that use it and may move. */
  async check(reference: string, containers: readonly DesiredContainer[]): Promise<void> {
    let digest: string;
    try {
      digest = (await pullImage(this.o.host, this.o.dirs, reference, { client: this.o.client(), concurrency: this.o.concurrency }))
        .manifest;
    } catch (e) {
      const error = `pull of ${reference} failed: ${describeError(e)}`;
      this.o.log.error({ reference, error }, `auto-update: ${error}; nothing changed, checked again next interval`);
      for (const d of containers) this.save(d.spec.name, { ...this.state(d.spec.name, reference), lastCheck: { atMs: this.now(), error } });
      return;
    }
    for (const d of containers) {
      const name = d.spec.name;
      const s = { ...this.state(name, reference), lastCheck: { atMs: this.now(), digest } };
      this.save(name, s);
      const pinned = observeContainer(this.o.host, this.o.dirs, this.o.driver, name)?.record?.spec.image?.digest;
      if (!pinned) continue;
      const decision = updateDecision(s, pinned, digest);
      if (decision === 'bad')
        this.o.log.info(
          { container: name, digest },
          `auto-update: ${name}: ${reference} names ${digest}, marked bad for it: not tried again`,
        );
      if (decision === 'update') await this.update(name, s, pinned, digest);
    }
  }

  /** Moves a container from one digest to another through its pass; true when it runs the digest after. */
  private async moveTo(name: string, digest: string): Promise<{ ok: boolean; message: string }> {
    const load = loadSpecDir(
      this.o.dir,
      this.o.trust,
      undefined,
      hostLookups(this.o.host, {
        dataDir: this.o.dirs.dataDir,
        secretsDir: this.o.secretsDir,
        trust: this.o.trust,
        forcePins: new Map([[name, digest]]),
      }),
    );
    if (!load.desired.some((d) => d.spec.name === name)) return { ok: false, message: 'its spec has errors or is gone' };
    const r = (await reconcileOne({ ...this.o.pass(load), movePins: true }, name)).result;
    this.o.moved?.(name);
    const now = observeContainer(this.o.host, this.o.dirs, this.o.driver, name)?.record?.spec.image?.digest;
    if (now === digest) return { ok: true, message: r ? `${r.kind}: ${r.reason}` : 'already there' };
    return { ok: false, message: r && !r.ok ? `${r.kind} failed: ${r.error}` : `it runs ${now ?? 'nothing'}` };
  }

  private async update(name: string, s: AutoUpdateState, from: string, to: string): Promise<void> {
    this.save(name, { ...s, phase: 'updating', from, to });
    faultPoint('auto-update:updating', name);
    this.o.log.info({ container: name, from, to }, `auto-update: ${name}: ${s.reference} moved to ${to}; updating from ${from}`);
    const r = await this.moveTo(name, to);
    faultPoint('auto-update:moved', name);
    this.afterUpdate(name, { ...s, phase: 'updating', from, to }, r);
  }

  private afterUpdate(name: string, s: AutoUpdateState, r: { ok: boolean; message: string }): void {
    if (r.ok) {
      const a = observeContainer(this.o.host, this.o.dirs, this.o.driver, name);
      this.save(name, { ...s, phase: 'watching', sinceMs: this.now(), restartsAtStart: a?.record?.restartCount ?? 0 });
      this.o.log.info({ container: name, digest: s.to }, `auto-update: ${name} runs ${s.to}; watching it for its rollback window`);
      this.o.events?.emit({ type: 'image-updated', name, source: this.o.dir, reference: s.reference, from: s.from, to: s.to });
    } else {
      this.save(name, { ...s, phase: 'idle', lastCheck: { atMs: this.now(), digest: s.to!, error: `update failed: ${r.message}` } });
      this.o.log.error({ container: name, error: r.message }, `auto-update: ${name}: update to ${s.to} failed: ${r.message}`);
    }
  }

  /** Looks at a container in its window: rolled back when it failed, done when the window passed. */
  private async watch(d: DesiredContainer): Promise<void> {
    const name = d.spec.name;
    const s = readAutoUpdate(this.o.host, this.o.dirs, name);
    if (!s || s.phase !== 'watching') return;
    const a = observeContainer(this.o.host, this.o.dirs, this.o.driver, name) ?? undefined;
    const reason = rollbackReason(s, a);
    if (reason) return this.rollback(name, s, reason);
    if (windowPassed(s, d.spec.autoUpdate!.rollbackWindowMs, this.now())) {
      const { from: _from, to: _to, sinceMs: _since, restartsAtStart: _r, ...rest } = s;
      this.save(name, { ...rest, phase: 'idle' });
      this.o.log.info({ container: name, digest: s.to }, `auto-update: ${name}: ${s.to} lasted its rollback window`);
    }
  }

  private async rollback(name: string, s: AutoUpdateState, reason: string): Promise<void> {
    const rolling: AutoUpdateState = { ...s, phase: 'rolling-back', lastRollback: { bad: s.to!, to: s.from!, atMs: this.now(), reason } };
    this.save(name, rolling);
    faultPoint('auto-update:rolling-back', name);
    this.o.log.warn(
      { container: name, bad: s.to, to: s.from, reason },
      `auto-update: ${name}: ${s.to} failed (${reason}); rolling back to ${s.from}`,
    );
    const r = await this.moveTo(name, s.from!);
    faultPoint('auto-update:rolled-back', name);
    this.afterRollback(name, rolling, r);
  }

  private afterRollback(name: string, s: AutoUpdateState, r: { ok: boolean; message: string }): void {
    if (!r.ok) {
      this.o.log.error({ container: name, error: r.message }, `auto-update: ${name}: rollback to ${s.from} failed: ${r.message}; retried`);
      return;
    }
    const bad = [...new Set([...s.bad, s.to!])];
    this.save(name, {
      phase: 'idle',
      reference: s.reference,
      bad,
      ...(s.lastRollback && { lastRollback: { ...s.lastRollback, atMs: this.now() } }),
      ...(s.lastCheck && { lastCheck: s.lastCheck }),
    });
    this.o.log.warn(
      { container: name, bad: s.to, digest: s.from },
      `auto-update: ${name} rolled back to ${s.from}; ${s.to} is marked bad for it`,
    );
    this.o.events?.emit({
      type: 'rolled-back',
      name,
      source: this.o.dir,
      reference: s.reference,
      from: s.to,
      to: s.from,
      reason: s.lastRollback?.reason,
    });
  }

  /**
   * `pocker image update NAME` for a container with autoUpdate: its reference pulled now and, when
   * it moved to a digest not marked bad, the same update as the controller's, then its window
   * watched until it passes or the version is rolled back (`progress` is told where it stands).
   */
  async updateNow(name: string, progress: (line: string) => void): Promise<{ ok: boolean; message: string }> {
    const d = this.o.desired().find((x) => x.spec.name === name);
    const reference = d && referenceOf(d);
    if (!d || !reference) return { ok: false, message: 'its spec has no autoUpdate' };
    const before = readAutoUpdate(this.o.host, this.o.dirs, name);
    if (before && before.phase !== 'idle') await this.resume(name, before);
    await this.check(reference, [d]);
    const s = this.state(name, reference);
    if (s.lastCheck?.error) return { ok: false, message: s.lastCheck.error };
    if (s.phase === 'idle') {
      const pinned = observeContainer(this.o.host, this.o.dirs, this.o.driver, name)?.record?.spec.image?.digest;
      const current = s.lastCheck?.digest;
      if (current && s.bad.includes(current) && pinned !== current)
        return { ok: true, message: `${reference} names ${current}, marked bad for ${name} (rolled back before): not tried again` };
      return { ok: true, message: `${reference} still names ${pinned}` };
    }
    const windowMs = d.spec.autoUpdate!.rollbackWindowMs;
    progress(
      `${name} runs ${s.to}; watching it for ${Math.round(windowMs / 1000)} s (an exit, 3 restarts or a failed health check roll it back)`,
    );
    for (;;) {
      await this.watch(d);
      const now = this.state(name, reference);
      if (now.phase === 'idle')
        return now.lastRollback && now.lastRollback.bad === s.to
          ? { ok: false, message: `rolled back to ${now.lastRollback.to}: ${now.lastRollback.reason}; ${s.to} is marked bad for ${name}` }
          : { ok: true, message: `${name} runs ${s.to}, which lasted its rollback window` };
      if (now.phase === 'rolling-back') await this.resume(name, now);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** A step a killed controller left: the container is looked at and the step finished or undone. */
  private async resume(name: string, s: AutoUpdateState): Promise<void> {
    const pinned = observeContainer(this.o.host, this.o.dirs, this.o.driver, name)?.record?.spec.image?.digest;
    if (s.phase === 'updating') {
      if (pinned === s.to) this.afterUpdate(name, s, { ok: true, message: 'finished by this controller' });
      else await this.update(name, s, s.from!, s.to!);
    } else if (s.phase === 'rolling-back') {
      if (pinned === s.from) this.afterRollback(name, s, { ok: true, message: 'finished by this controller' });
      else this.afterRollback(name, s, await this.moveTo(name, s.from!));
    }
  }
}
