import { builtins } from '../builtins.js';
import { join } from 'node:path';
import { SpecCache } from '../spec/cache.js';
import { shortHash } from '../state/shortHash.js';
import { DEFAULT_BACKOFF } from '../plan/backoff.js';
import { observe } from '../observe/observe.js';
import { plan as makePlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import type { ActionResult } from '../runtime/apply.js';
import { detectDriver } from '../cgroups/detect.js';
import { gatherFacts } from '../runtime/facts.js';
import { NodeHost } from '../host/nodeHost.js';
import { hostLookups } from './hostLookups.js';
import { firewallViews, followingNames } from './firewalls.js';
import { loadSpecDir, type DirLoad } from '../spec/load.js';
import { formatSpecError } from '../spec/types.js';
import { silentLogger } from '../log/logger.js';
import { collectLeftovers, reportStrangers } from './gc.js';
import { checkInstance } from '../instance/identity.js';
import { prepareInstance } from '../instance/privateDirs.js';
import { DEFAULT_TIMEOUTS } from '../host/timeouts.js';
import type { ControllerOptions } from './options.js';
import { reconcileOne } from './reconcileOne.js';
import type { Convergence } from './convergence.js';
import { followUp, heldByDependencies } from './followUp.js';
import { refreshHosts } from '../network/names.js';
import { pendingPulls, withPullErrors } from './pendingPulls.js';
import { DEFAULT_REGISTRY_SETTINGS } from '../image/registrySettings.js';
import { controllerPass } from './pass.js';
import { specErrorEvents } from './events.js';
import { gitRevision } from './revision.js';
import { recordSourceStatus } from './sourceStatus.js';

/** Options of one reconcile pass. */
export interface OnceOptions extends ControllerOptions {
  /** Plan only. */
  dryRun?: boolean;
  /**
   * Wait this long for convergence (`--wait`): every container running and healthy where it has a
   * health check, every job others wait on completed; health checks run meanwhile. Without it the pass starts what
   * it can (dependents whose dependencies got there during the pass included) and returns.
   */
  waitMs?: number;
  /** Use this desired set instead of reading the dir (`down` passes an empty one). */
  load?: DirLoad;
}

/** What a pass found and did. */
export interface PassResult {
  load: DirLoad;
  /** The plan as computed from one observation of everything (what --dry-run shows). */
  plan: Plan;
  /** What was really done per container that the plan gave an action (each re-planned under its lock, so a kind may differ from the plan's). */
  results: ActionResult[];
  /** Git commit of the spec dir, when it is a git work tree. */
  revision: string | null;
  /** No spec error, no plan error, no failed action. */
  ok: boolean;
  /** With waitMs: where the containers stood when the pass returned. */
  converged?: Convergence;
}

/**
 * One level-based pass: read the spec dir as a whole, observe the kernel, plan, then reconcile
 * every container that needs it (concurrently, each under its own lock and re-observed there, so a
 * concurrent pass or controller never acts twice), then remove leftovers of vanished containers.
 * Running it twice in a row changes nothing the second time.
 */
export async function reconcileOnce(opts: OnceOptions): Promise<PassResult> {
  const log = opts.log ?? silentLogger;
  const host = opts.host ?? new NodeHost();
  if (opts.dryRun) checkInstance(host, opts.dirs, false);
  else prepareInstance(host, opts.dirs, log);
  const driver = opts.driver ?? detectDriver(host, opts.dirs.cgroupParent);
  const timeouts = opts.timeouts ?? DEFAULT_TIMEOUTS;
  // A dry run reads the parses a pass left (they are checked against each file) and writes none.
  const cachePath = !opts.load ? specCachePath(opts.dirs.stateDir, opts.dir) : null;
  const cache = cachePath ? SpecCache.load(host, cachePath) : undefined;
  const read = (): DirLoad =>
    opts.load ??
    loadSpecDir(
      opts.dir,
      opts.trust,
      cache,
      hostLookups(host, { dataDir: opts.dirs.dataDir, secretsDir: opts.secretsDir, trust: opts.trust }),
    );
  let load = read();
  const pulls = pendingPulls(load);
  if (pulls.length && !opts.dryRun) {
    // The registry client is loaded only when a pass has something to pull.
    const [{ ImagePulls }, { registryClientFactory }] = await Promise.all([
      import('./imagePulls.js'),
      import('../image/registryClients.js'),
    ]);
    const images = new ImagePulls({
      host,
      dirs: opts.dirs,
      client: opts.registry ?? registryClientFactory(opts.registries),
      concurrency: (opts.registries ?? DEFAULT_REGISTRY_SETTINGS).concurrency,
      log,
    });
    const failed = await images.pullAll(pulls);
    load = withPullErrors(failed.size < pulls.length ? read() : load, failed);
  }
  if (cachePath && !opts.dryRun && host.kind(opts.dirs.stateDir) === 'dir' && cache!.save(host, cachePath))
    host.removeFile(legacySpecCachePath(opts.dirs.stateDir, opts.dir));
  for (const e of load.errors) log.error({ file: e.file, line: e.line, col: e.col }, formatSpecError(e));
  if (!opts.dryRun && opts.events) for (const e of specErrorEvents(opts.dir, load.errors, new Set())) opts.events.emit(e);
  const actual = observe(host, opts.dirs, driver);
  reportStrangers(actual.strangers, log);
  const facts = gatherFacts(host, driver, load.desired);
  const backoff = opts.backoff ?? DEFAULT_BACKOFF;
  const revision = opts.load ? null : gitRevision(opts.dir);
  const firewalls = await firewallViews(host, opts.dirs, load.desired, actual.containers);
  const plan = makePlan({
    source: opts.dir,
    load,
    actual,
    facts,
    allowEmpty: !!opts.allowEmpty,
    now: Date.now(),
    backoff,
    firewalls,
    ...(opts.maxDeletions !== undefined && { maxDeletions: opts.maxDeletions }),
  });
  for (const p of plan.problems) (p.severity === 'error' ? log.error : log.warn).call(log, { container: p.name }, p.message);
  let results: ActionResult[] = [];
  let converged: Convergence | undefined;
  if (!opts.dryRun) {
    const removable = new Set(plan.actions.filter((a) => a.kind === 'remove').map((a) => a.name));
    const pass = controllerPass(opts, { load, host, driver, log, revision, facts, mayRemove: (name) => removable.has(name) });
    const run = async (names: string[]): Promise<ActionResult[]> =>
      (await Promise.all(names.map((n) => reconcileOne(pass, n)))).map(
        (o) => o.result ?? { name: o.name, kind: o.action.kind, reason: o.action.reason, ok: true, durationMs: 0 },
      );
    results = await run(plan.actions.filter((a) => a.kind !== 'none').map((a) => a.name));
    const waited = await followUp({
      host,
      dirs: opts.dirs,
      driver,
      load,
      pass,
      run,
      log,
      done: results,
      held: new Set(plan.actions.filter(heldByDependencies).map((a) => a.name)),
      ...(opts.waitMs !== undefined && { waitMs: opts.waitMs }),
    });
    results.push(...waited.results);
    converged = waited.converged;
    refreshHosts(host, opts.dirs);
    // Tables that name containers follow the addresses this pass gave them.
    const following = followingNames(load.desired);
    if (following.length && results.some((r) => r.ok && r.kind !== 'none')) {
      for (const r of (await run(following)).filter((x) => x.kind !== 'none')) {
        // A start that failed for want of its peer and succeeds now is what the pass did.
        const i = results.findIndex((x) => x.name === r.name && !x.ok);
        if (i >= 0 && r.ok) results[i] = r;
        else results.push(r);
      }
    }
    if (actual.leftovers.length) await collectLeftovers(host, opts.dirs, driver, actual.leftovers, log, timeouts);
  }
  const ok = load.errors.length === 0 && !plan.problems.some((p) => p.severity === 'error') && results.every((r) => r.ok);
  if (!opts.dryRun && !opts.load) recordSourceStatus(host, opts.dirs.stateDir, load, revision, ok, plan.held);
  return { load, plan, results, revision, ok, ...(converged && { converged }) };
}

/**
 * Where `reconcile --once` keeps the parses of one spec dir's files (see SpecCache). Every entry
 * names its dir, so dirs whose names hash alike would only share the file.
 */
export function specCachePath(stateDir: string, dir: string): string {
  return join(stateDir, `.spec-cache-${shortHash(dir)}.json`);
}

/** The name earlier builds gave the cache (sha256 of the dir): removed when the cache is saved under its name now. */
function legacySpecCachePath(stateDir: string, dir: string): string {
  return join(stateDir, `.spec-cache-${builtins.crypto().createHash('sha256').update(dir).digest('hex').slice(0, 16)}.json`);
}

/** Stops and removes every container whose spec came from opts.dir, then the cgroup parent if empty. */
export async function downSource(opts: Omit<OnceOptions, 'load' | 'allowEmpty'>): Promise<PassResult> {
  const empty: DirLoad = { dir: opts.dir, status: 'ok', files: [], desired: [], errors: [], failedFiles: new Set() };
  const host = opts.host ?? new NodeHost();
  const driver = opts.driver ?? detectDriver(host, opts.dirs.cgroupParent);
  const result = await reconcileOnce({ ...opts, host, driver, load: empty, allowEmpty: true });
  if (!opts.dryRun && result.ok) driver.removeParentIfEmpty(host);
  return result;
}
