import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';
import type { TestInstance } from './instance.js';

/** bin/pocker of this checkout. */
export const POCKER_BIN = join(packageRoot(), 'bin', 'pocker');

/** The flags that point the CLI at a test instance. */
export function instanceFlags(inst: TestInstance): string[] {
  return [
    '--dir',
    inst.specDir,
    '--state-dir',
    inst.dirs.stateDir,
    '--data-dir',
    inst.dirs.dataDir,
    '--cgroup-parent',
    inst.dirs.cgroupParent,
    '--secrets-dir',
    inst.secretsDir,
  ];
}

/** Runs `pocker VERB <instance flags> ARGS...` to completion (20 s at most unless timeoutMs says otherwise). */
export function pocker(
  inst: TestInstance,
  verb: string,
  args: string[] = [],
  opts: { env?: NodeJS.ProcessEnv; timeoutMs?: number; input?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [POCKER_BIN, verb, ...instanceFlags(inst), ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...opts.env },
    timeout: opts.timeoutMs ?? 20_000,
    killSignal: 'SIGKILL',
    ...(opts.input !== undefined && { input: opts.input }),
  });
}

/** Starts the watching controller of a test instance as a child process; its stderr is collected in `log()`. */
export function startDaemon(
  inst: TestInstance,
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
): { child: ChildProcess; log: () => string; stop: () => Promise<void> } {
  const child = spawn(process.execPath, [POCKER_BIN, 'reconcile', ...instanceFlags(inst), '--log-level', 'info', ...args], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, ...env },
  });
  let text = '';
  child.stderr!.on('data', (d: Buffer) => (text += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    child,
    log: () => text,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
