import type { ChildProcess, StdioOptions } from 'node:child_process';
import { builtins } from '../builtins.js';

/** What one captured run of `pocker-monitor exec` gave: exit code (-1 when it timed out or could not run) and the start of its output. */
export interface ExecResult {
  exitCode: number;
  output: string;
}

/** Longest output kept from a captured exec. */
export const EXEC_OUTPUT_LIMIT = 4096;

/**
 * Starts `pocker-monitor exec` with the config on fd 3 (no shell; argv only). stdio as given:
 * 'inherit' for `pocker exec`, pipes for health checks.
 */
export function startExec(monitorBinary: string, config: Buffer, stdio: 'inherit' | 'pipe'): ChildProcess {
  const io: StdioOptions = [stdio, stdio, stdio, 'pipe'];
  const child = builtins.childProcess().spawn(monitorBinary, ['exec', '/proc/self/fd/3'], { stdio: io });
  const pipe = child.stdio[3] as NodeJS.WritableStream;
  pipe.on('error', () => {});
  pipe.end(config);
  return child;
}

/** Runs `pocker-monitor exec` with its output captured; after timeoutMs its host-side process is killed (the caller kills what it started inside). */
export function runExecCaptured(monitorBinary: string, config: Buffer, timeoutMs: number): Promise<ExecResult> {
  return new Promise((resolve) => {
    let output = '';
    let done = false;
    const child = startExec(monitorBinary, config, 'pipe');
    const take = (d: Buffer): void => {
      if (output.length < EXEC_OUTPUT_LIMIT) output += d.toString('utf8');
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
    const finish = (r: ExecResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(r);
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      finish({ exitCode: -1, output: `${output}\n(timed out after ${timeoutMs} ms)`.trim() });
    }, timeoutMs);
    child.on('error', (e) => finish({ exitCode: -1, output: e.message }));
    child.on('exit', (code, signal) => finish({ exitCode: code ?? (signal ? -1 : 0), output: output.trim() }));
  });
}
