import { builtins } from '../builtins.js';
import { accessSync, constants } from 'node:fs';

/** What one run of a CNI plugin gave. */
export interface PluginRun {
  /** Exit status, or null when it was killed or could not start. */
  code: number | null;
  stdout: string;
  stderr: string;
  /** It ran past its timeout and was killed with its process group. */
  timedOut: boolean;
  /** Why it could not start at all (no such file, not executable). */
  spawnError?: Error;
}

/** The one way pocker executes CNI plugins (a fake answers for them in tests). */
export interface CniExec {
  /** Whether path names an executable plugin. */
  available(path: string): boolean;
  /**
   * Runs the plugin at path: argv only, no shell, env as given and nothing else, stdin as given,
   * in a process group of its own; after timeoutMs the whole group is killed.
   */
  run(path: string, env: Record<string, string>, stdin: string, timeoutMs: number): Promise<PluginRun>;
}

/** Runs the plugins of this machine. */
export class NodeCniExec implements CniExec {
  available(path: string): boolean {
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  }

  run(path: string, env: Record<string, string>, stdin: string, timeoutMs: number): Promise<PluginRun> {
    return new Promise((resolve) => {
      const child = builtins.childProcess().spawn(path, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let spawnError: Error | undefined;
      const timer = setTimeout(() => {
        timedOut = true;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          /* the group is gone already */
        }
        // A process that left the group may still hold the pipes: stop waiting for them.
        child.stdout.destroy();
        child.stderr.destroy();
      }, timeoutMs);
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.stdin.on('error', () => {});
      child.on('error', (e) => (spawnError = e));
      child.on('close', (code) => {
        clearTimeout(timer);
        resolve({ code: spawnError ? null : code, stdout, stderr, timedOut, ...(spawnError && { spawnError }) });
      });
      child.stdin.end(stdin);
    });
  }
}
