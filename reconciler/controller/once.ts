import { observe } from '../observe/observe.js';
import { plan as makePlan } from '../plan/plan.js';
import type { Plan } from '../plan/types.js';
import { applyPlan, needsCgroupParent, type ActionResult } from '../runtime/apply.js';
import type { CgroupDriver } from '../runtime/cgroups/driver.js';
import { detectDriver } from '../runtime/cgroups/detect.js';
import type { RuntimeContext } from '../runtime/container.js';
import { gatherFacts } from '../runtime/facts.js';
import type { Host } from '../runtime/host.js';
import { NodeHost } from '../runtime/nodeHost.js';
import { monitorBinary } from '../native.js';
import { loadSpecDir, type DirLoad } from '../spec/load.js';
import { formatSpecError } from '../spec/types.js';
import type { InstanceDirs } from '../state/layout.js';
import { silentLogger, type Logger } from '../log/logger.js';
import { acquirePassLock } from './lock.js';

/** Options of one reconcile pass. */
export interface OnceOptions {
  /** Spec dir as given by the user (the ownership key). */
  dir: string;
  dirs: InstanceDirs;
  /** Remove containers even when the dir has no spec files. */
  allowEmpty?: boolean;
  /** Plan only. */
  dryRun?: boolean;
  /** Injected for tests (a counting or fake host); defaults to the real one. */
  host?: Host;
  driver?: CgroupDriver;
  log?: Logger;
  monitorBinary?: string;
  /** Use this desired set instead of reading the dir (`down` passes an empty one). */
  load?: DirLoad;
}

/** What a pass found and did. */
export interface PassResult {
  load: DirLoad;
  plan: Plan;
  results: ActionResult[];
  /** No spec error, no plan error, no failed action. */
  ok: boolean;
}

/**
 * One level-based pass: read the spec dir as a whole, observe the kernel, plan, apply. Running
 * it twice in a row changes nothing the second time.
 */
export async function reconcileOnce(opts: OnceOptions): Promise<PassResult> {
  const host = opts.host ?? new NodeHost();
  const lock = host instanceof NodeHost && !opts.dryRun ? await acquirePassLock(opts.dirs.stateDir) : null;
  try {
    return await pass(opts, host);
  } finally {
    lock?.release();
  }
}

async function pass(opts: OnceOptions, host: Host): Promise<PassResult> {
  const log = opts.log ?? silentLogger;
  const driver = opts.driver ?? detectDriver(host, opts.dirs.cgroupParent);
  const load = opts.load ?? loadSpecDir(opts.dir);
  for (const e of load.errors) log.error({ file: e.file, line: e.line, col: e.col }, formatSpecError(e));
  const actual = observe(host, opts.dirs, driver);
  const facts = gatherFacts(host, driver);
  const plan = makePlan({ source: opts.dir, load, actual, facts, allowEmpty: !!opts.allowEmpty });
  for (const p of plan.problems) (p.severity === 'error' ? log.error : log.warn).call(log, { container: p.name }, p.message);
  let results: ActionResult[] = [];
  if (!opts.dryRun) {
    if (plan.actions.some(needsCgroupParent)) driver.ensureParent(host);
    const ctx: RuntimeContext = { host, driver, dirs: opts.dirs, facts, monitorBinary: opts.monitorBinary ?? monitorBinary() };
    results = await applyPlan(plan, ctx, (r) => {
      const fields = { container: r.name, action: r.kind, reason: r.reason, durationMs: Math.round(r.durationMs * 10) / 10, ...(r.pid && { pid: r.pid }) };
      if (r.ok) log.info(fields, `${r.kind} ${r.name}`);
      else log.error({ ...fields, code: r.errorCode, error: r.error }, `${r.kind} ${r.name} failed: ${r.error}`);
    });
  }
  const ok = load.errors.length === 0 && !plan.problems.some((p) => p.severity === 'error') && results.every((r) => r.ok);
  return { load, plan, results, ok };
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
