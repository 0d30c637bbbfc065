import type { EventSink } from '../state/events.js';
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
import { loadSpecDir, type DirLoad } from '../spec/load.js';
import { isAdhoc } from '../state/adhoc.js';
import type { InstanceDirs } from '../state/layout.js';
import { buildPass } from './pass.js';
import { reconcileOne, type PassState } from './reconcileOne.js';
import { AutoUpdater } from './autoUpdater.js';
import { updateDecision, type UpdateDecision } from '../plan/autoUpdate.js';
import { readAutoUpdate, type AutoUpdateState } from '../state/autoUpdate.js';
import { parseReference } from '../spec/imageReference.js';

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
  /** Where the recreates and rollbacks are told (the events journal). */
  events?: EventSink;
  /** The pool of `userns: auto` (default "pocker"). */
  usernsPool?: string;
}

/** The pass an image update moves one container through: its spec dir's, removing nothing. */
function movePass(o: ImageUpdateOptions, dir: string, load: DirLoad): PassState {
  return buildPass({
    source: dir,
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
    ...(o.events && { events: o.events }),
    ...(o.usernsPool && { usernsPool: o.usernsPool }),
  });
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
    const r = (await reconcileOne({ ...movePass(o, source.dir, load), movePins: true }, name)).result;
    if (r?.ok) out.push({ ...base, to, outcome: 'moved', message: `${r.kind}: ${r.reason}` });
    else out.push({ ...base, to, outcome: 'failed', message: r ? `${r.kind} failed: ${r.error}` : 'the pass found nothing to do' });
  }
  return out;
}

/** What `pocker image updates` says of one container with autoUpdate. */
export interface UpdatePreview {
  name: string;
  reference: string;
  /** The digest it runs. */
  pinned: string;
  /** The digest the tag names at the registry now (null when the check failed). */
  current: string | null;
  /** What an update would do now: update, current, bad (marked bad for it), busy (an update under way), failed (see message). */
  action: UpdateDecision | 'failed';
  message: string;
  state: AutoUpdateState | null;
}

/**
 * For every container with autoUpdate, what its tag names now at the registry (resolved, nothing
 * pulled) and what an update would do, changing nothing (`podman auto-update --dry-run`).
 */
export async function previewUpdates(o: Pick<ImageUpdateOptions, 'host' | 'dirs' | 'driver' | 'client'>): Promise<UpdatePreview[]> {
  const actual = observe(o.host, o.dirs, o.driver);
  const out: UpdatePreview[] = [];
  const resolved = new Map<string, Promise<string>>();
  for (const a of [...actual.containers.values()].sort((x, y) => (x.name < y.name ? -1 : 1))) {
    const pin = a.record?.spec.image;
    if (!a.record?.spec.autoUpdate || !pin) continue;
    const state = readAutoUpdate(o.host, o.dirs, a.name);
    const base = { name: a.name, reference: pin.reference, pinned: pin.digest, state };
    const ref = parseReference(pin.reference);
    if ('error' in ref) {
      out.push({ ...base, current: null, action: 'failed', message: ref.error });
      continue;
    }
    if (!resolved.has(pin.reference))
      resolved.set(
        pin.reference,
        o.client.resolve(ref).then((r) => r.manifestDigest),
      );
    try {
      const current = await resolved.get(pin.reference)!;
      const action = updateDecision(state, pin.digest, current);
      const message =
        action === 'update'
          ? `would pull ${current} and recreate ${a.name} on it, then watch it for ${Math.round(a.record.spec.autoUpdate.rollbackWindowMs / 1000)} s`
          : action === 'current'
            ? 'up to date'
            : action === 'bad'
              ? `${current} is marked bad for ${a.name} (rolled back before): not tried again until the tag moves on`
              : `an update is under way (${state!.phase})`;
      out.push({ ...base, current, action, message });
    } catch (e) {
      out.push({ ...base, current: null, action: 'failed', message: `check of ${pin.reference} failed: ${describeError(e)}` });
    }
  }
  return out;
}

/**
 * `pocker image update NAME` for a container with autoUpdate: the controller's update with its
 * rollback, through the container's spec dir, its window watched before returning.
 */
export async function autoUpdateNow(
  o: ImageUpdateOptions & { name: string; progress: (line: string) => void },
): Promise<{ ok: boolean; message: string }> {
  const a = observe(o.host, o.dirs, o.driver).containers.get(o.name);
  if (!a?.record) return { ok: false, message: 'no such container' };
  const source = a.record.source;
  const load = loadSpecDir(source.dir, undefined, undefined, hostLookups(o.host, { dataDir: o.dirs.dataDir, secretsDir: o.secretsDir }));
  const updater = new AutoUpdater({
    dir: source.dir,
    host: o.host,
    dirs: o.dirs,
    driver: o.driver,
    log: o.log,
    ...(o.secretsDir && { secretsDir: o.secretsDir }),
    client: () => o.client,
    concurrency: o.concurrency,
    pass: (l) => movePass(o, source.dir, l),
    desired: () => load.desired,
    ...(o.events && { events: o.events }),
  });
  return updater.updateNow(o.name, o.progress);
}
