import { builtins } from '../builtins.js';

/** How one run of a hook ended. */
export interface HookResult {
  /** Exit code, or null when it was killed by a signal or could not start. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  /** Why it could not start (ENOENT, EACCES), if so. */
  error?: string;
  /** The start of what it wrote on stdout and stderr. */
  output: string;
}

/** Runs a notification hook: argv only, input on stdin, killed (its whole process group) after timeoutMs. */
export interface HookRunner {
  run(path: string, input: string, timeoutMs: number): Promise<HookResult>;
  /** Kills every run under way (the controller is stopping). */
  stopAll(): void;
}

const OUTPUT_LIMIT = 2048;

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Gone already.
  }
}

/** The real runner: the hook in its own process group, stdin the input, no shell, nothing inherited but the environment. */
export class ProcessHookRunner implements HookRunner {
  private readonly running = new Set<number>();

  stopAll(): void {
    for (const pid of this.running) killGroup(pid);
  }

  run(path: string, input: string, timeoutMs: number): Promise<HookResult> {
    return new Promise((resolve) => {
      let output = '';
      let done = false;
      let timedOut = false;
      const child = builtins.childProcess().spawn(path, [], { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      const take = (d: Buffer): void => {
        if (output.length < OUTPUT_LIMIT) output += d.toString('utf8');
      };
      child.stdout.on('data', take);
      child.stderr.on('data', take);
      child.stdin.on('error', () => {});
      child.stdin.end(input);
      const pid = child.pid;
      if (pid) this.running.add(pid);
      const kill = (): void => killGroup(pid);
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, timeoutMs);
      const finish = (r: HookResult): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        if (pid) this.running.delete(pid);
        resolve(r);
      };
      child.on('error', (e) => finish({ exitCode: null, signal: null, timedOut: false, error: e.message, output: '' }));
      child.on('close', (code, signal) => finish({ exitCode: code, signal, timedOut, output: output.trim().slice(0, OUTPUT_LIMIT) }));
      // A hook that forked and left a child holding the pipes: the group goes too.
      child.on('exit', () => {
        if (timedOut) kill();
      });
    });
  }
}
