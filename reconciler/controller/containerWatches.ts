import type { ActualContainer } from '../observe/types.js';
import type { Host } from '../host/host.js';
import { HealthChecker, type HealthOptions } from './health.js';

/**
 * What the watching controller keeps an eye on per container, from each observation of it: an
 * exit watch on its monitor (pidfd: an exit is seen at once) and its health checks.
 */
export class ContainerWatches {
  private readonly exitWatches = new Map<string, { pid: number; stop: () => void }>();

  /** Exit watches, and health checks unless healthChecks is false; onChange(name) when a container exits or turns unhealthy. */
  static create(
    o: Omit<HealthOptions, 'onUnhealthy' | 'onStatus'> & { healthChecks: boolean; onChange: (name: string) => void },
  ): ContainerWatches {
    const health = o.healthChecks ? new HealthChecker({ ...o, onUnhealthy: o.onChange, onStatus: o.onChange }) : null;
    return new ContainerWatches(o.host, health, o.onChange);
  }

  constructor(
    private readonly host: Host,
    private readonly health: HealthChecker | null,
    /** Called when a watched monitor exits (the container's workload has ended). */
    private readonly onExit: (name: string) => void,
  ) {}

  /** Sets the watches of a container as observed now; ours: it belongs to the controller's spec dir. */
  track(name: string, now: ActualContainer | undefined, ours: boolean): void {
    const watch = this.exitWatches.get(name);
    if (ours && now!.monitorAlive && now!.pids) {
      if (watch?.pid !== now!.pids.monitorPid) {
        watch?.stop();
        const pids = now!.pids;
        const stop = this.host.watchExit({ pid: pids.monitorPid, startTime: pids.monitorStart }, () => {
          this.exitWatches.delete(name);
          this.onExit(name);
        });
        this.exitWatches.set(name, { pid: pids.monitorPid, stop });
      }
    } else if (watch) {
      watch.stop();
      this.exitWatches.delete(name);
    }
    const spec = now?.record?.spec;
    if (this.health && ours && now!.initAlive && !now!.limits?.frozen && spec?.healthcheck) this.health.ensure(now!, spec);
    else this.health?.stop(name);
  }

  /** Whether the exit of this monitor of the container is being watched (its exit would be told at once). */
  watching(name: string, monitorPid: number): boolean {
    return this.exitWatches.get(name)?.pid === monitorPid;
  }

  /** Ends every watch and waits for the health checks under way. */
  async stopAll(): Promise<void> {
    for (const e of this.exitWatches.values()) e.stop();
    this.exitWatches.clear();
    await this.health?.stopAll();
  }
}
