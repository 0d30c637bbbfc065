import type { CgroupDriver } from '../cgroups/driver.js';
import { describeError } from '../host/errors.js';
import type { Host } from '../host/host.js';
import type { Timeouts } from '../host/timeouts.js';
import { pullImage } from '../image/pull.js';
import type { RegistryClient } from '../image/registry/client.js';
import { hostLookups } from './hostLookups.js';
import type { Logger } from '../log/logger.js';
import { monitorBinary } from '../native.js';
import { observe } from '../observe/observe.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { loadSpecDir } from '../spec/load.js';
import { isAdhoc } from '../state/adhoc.js';
import type { InstanceDirs } from '../state/layout.js';
import { buildPass } from './pass.js';
import { reconcileOne } from './reconcileOne.js';

/** What `pocker image update` did to one container. */
export interface ImageUpdate {
  name: string;
  reference: string;
  /** The digest it was pinned to. */
  from: string;
  /** The digest its reference names now (when the pull succeeded). */
  to?: string;
  outcome: 'moved' | 'current' | 'failed' | 'skipped';
  message: string;
}

/** What an image update acts with. */
export interface ImageUpdateOptions {
  host: Host;
  dirs: InstanceDirs;
  driver: CgroupDriver;
  client: RegistryClient;
  concurrency: number;
  timeouts: Timeouts;
  log: Logger;
  /** Where secrets are read from (default /etc/pocker/secrets). */
  secretsDir?: string;
  /** Containers to update (default: every container of the instance that runs a registry image). */
  names?: string[];
}

/**
 * Re-resolves the registry images of containers now: pulls each reference once (a tag names
 * whatever the registry says today), and recreates, through their spec dir's pass, the containers
 * whose pinned digest differs from it; the others are left as they are. A container pinned by a
 * digest in its spec, or made by `pocker run`, is skipped with the reason.
 */
export async function updateImages(o: ImageUpdateOptions): Promise<ImageUpdate[]> {
  const actual = observe(o.host, o.dirs, o.driver);
  const wanted = o.names ?? [...actual.containers.values()].filter((a) => a.record?.spec.image).map((a) => a.name);
  const out: ImageUpdate[] = [];
  const pulls = new Map<string, Promise<string>>();
  for (const name of wanted) {
    const a = actual.containers.get(name);
    const pin = a?.record?.spec.image;
    if (!a?.record || !pin) {
      out.push({ name, reference: '', from: '', outcome: 'skipped', message: a ? 'it runs no registry image' : 'no such container' });
      continue;
    }
    const base = { name, reference: pin.reference, from: pin.digest };
    if (pin.reference.includes('@')) {
      out.push({ ...base, outcome: 'skipped', message: 'its spec names a digest: change the spec to move it' });
      continue;
    }
    if (isAdhoc(a.record.source)) {
      out.push({ ...base, outcome: 'skipped', message: 'a container of pocker run: pocker rm it and run it again' });
      continue;
    }
    if (!pulls.has(pin.reference)) {
      pulls.set(
        pin.reference,
        pullImage(o.host, o.dirs, pin.reference, { client: o.client, concurrency: o.concurrency }).then((r) => r.manifest),
      );
    }
    let to: string;
    try {
      to = await pulls.get(pin.reference)!;
    } catch (e) {
      out.push({ ...base, outcome: 'failed', message: `pull of ${pin.reference} failed: ${describeError(e)}` });
      continue;
    }
    if (to === pin.digest) {
      out.push({ ...base, to, outcome: 'current', message: `${pin.reference} still names ${to}` });
      continue;
    }
    const source = a.record.source;
    const load = loadSpecDir(
      source.dir,
      undefined,
      undefined,
      hostLookups(o.host, { dataDir: o.dirs.dataDir, secretsDir: o.secretsDir, ignorePins: new Set([name]) }),
    );
    if (load.failedFiles.has(source.file) || !load.desired.some((d) => d.spec.name === name)) {
      out.push({ ...base, to, outcome: 'failed', message: `its spec (${source.dir}/${source.file}) has errors or is gone` });
      continue;
    }
    const pass = buildPass({
      movePins: true,
      source: source.dir,
      load,
      host: o.host,
      driver: o.driver,
      dirs: o.dirs,
      backoff: DEFAULT_BACKOFF,
      timeouts: o.timeouts,
      monitorBinary: monitorBinary(),
      allowEmpty: false,
      log: o.log,
      mayRemove: () => false,
    });
    const r = (await reconcileOne(pass, name)).result;
    if (r?.ok) out.push({ ...base, to, outcome: 'moved', message: `${r.kind}: ${r.reason}` });
    else out.push({ ...base, to, outcome: 'failed', message: r ? `${r.kind} failed: ${r.error}` : 'the pass found nothing to do' });
  }
  return out;
}
