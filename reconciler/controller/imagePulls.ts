import type { Host } from '../host/host.js';
import { describeError } from '../host/errors.js';
import { pullImage, type PullEvent } from '../image/pull.js';
import type { RegistryClient } from '../image/registry/client.js';
import type { Logger } from '../log/logger.js';
import type { InstanceDirs } from '../state/layout.js';

/** First wait before a failed pull is tried again by the watching controller; it doubles up to the cap. */
const RETRY_FIRST_MS = 5_000;
const RETRY_MAX_MS = 5 * 60_000;

/**
 * The registry pulls a controller makes for the images its specs name and the store lacks: one at
 * a time per image (the store's lock serializes them), each layer logged as it completes, failures
 * kept by image. `reconcile --once` waits for them (pullAll); the watching controller starts them
 * in the background (request), reloads when one completes, and tries a failed one again after a
 * backoff (5 s doubling to 5 min).
 */
export class ImagePulls {
  private readonly running = new Map<string, Promise<void>>();
  private readonly failures = new Map<string, { error: string; attempts: number; retryAt: number }>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    private readonly o: {
      host: Host;
      dirs: InstanceDirs;
      /** Made on the first pull (reading credentials and CA files). */
      client: () => RegistryClient;
      concurrency: number;
      log: Logger;
      /** An image arrived: the spec dir should be loaded again. */
      onPulled?: () => void;
    },
  ) {}

  /** A pull is under way. */
  get busy(): boolean {
    return this.running.size > 0;
  }

  /** The last failure of each pull that failed. */
  errors(): Map<string, string> {
    return new Map([...this.failures].map(([k, v]) => [k, v.error]));
  }

  /** Pulls every image now, a few at once; resolves when all ended (failures are in errors()). */
  async pullAll(pulls: readonly string[]): Promise<Map<string, string>> {
    await Promise.all(pulls.map((p) => this.start(p)));
    return new Map(pulls.flatMap((p) => (this.failures.has(p) ? [[p, this.failures.get(p)!.error] as [string, string]] : [])));
  }

  /** Starts the pulls not under way and not waiting out their backoff. */
  request(pulls: readonly string[]): void {
    for (const p of pulls) {
      const f = this.failures.get(p);
      if (this.running.has(p) || (f && Date.now() < f.retryAt)) continue;
      void this.start(p);
    }
  }

  /** No new pull after this; waits for the ones under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    await Promise.all([...this.running.values()]);
  }

  private start(pull: string): Promise<void> {
    const running = this.running.get(pull);
    if (running) return running;
    const p = this.pull(pull).finally(() => this.running.delete(pull));
    this.running.set(pull, p);
    return p;
  }

  private async pull(pull: string): Promise<void> {
    if (this.stopped) return;
    const log = this.o.log;
    log.info({ image: pull }, `pulling ${pull}`);
    try {
      const r = await pullImage(this.o.host, this.o.dirs, pull, {
        client: this.o.client(),
        concurrency: this.o.concurrency,
        onEvent: (e: PullEvent) => {
          if (e.kind === 'layer' && e.state === 'done')
            log.info({ image: pull, layer: e.diffId, bytes: e.size }, `${pull}: layer ${e.index + 1} ${e.blob} done (${e.size} bytes)`);
        },
      });
      this.failures.delete(pull);
      const fresh = r.layers.filter((l) => !l.reused).length;
      log.info(
        { image: pull, manifest: r.manifest, ms: Math.round(r.ms) },
        `pulled ${r.reference} ${r.manifest}: ${r.layers.length} layer(s), ${fresh} downloaded`,
      );
      this.o.onPulled?.();
    } catch (e) {
      const prev = this.failures.get(pull);
      const attempts = (prev?.attempts ?? 0) + 1;
      const wait = Math.min(RETRY_MAX_MS, RETRY_FIRST_MS * 2 ** (attempts - 1));
      const error = `pull of ${pull} failed: ${describeError(e)}`;
      this.failures.set(pull, { error, attempts, retryAt: Date.now() + wait });
      if (error !== prev?.error) log.error({ image: pull, error: describeError(e), retryInMs: wait }, error);
      if (this.o.onPulled && !this.stopped) {
        const t = setTimeout(() => {
          this.timers.delete(t);
          this.o.onPulled?.();
        }, wait);
        t.unref();
        this.timers.add(t);
      }
    }
  }
}
