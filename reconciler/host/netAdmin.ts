import { builtins } from '../builtins.js';

/** Longest wait for one iptables or ip run (iptables itself waits at most 5 s for the xtables lock). */
export const NET_COMMAND_TIMEOUT_MS = 15_000;

/**
 * The host network state pocker cleans up after CNI plugins: the nat table (iptables) and links
 * (ip). The real one runs the commands (argv only, bounded in time); a fake keeps rules and links
 * in memory in tests.
 */
export interface NetAdmin {
  /** The nat table as iptables-save prints it, or null when it cannot be read. */
  saveNat(): string | null;
  /** One `iptables -w 5 -t nat ARGS...`: whether it succeeded, and what it printed. */
  nat(args: readonly string[]): { ok: boolean; out: string };
  /** `ip link delete NAME`: whether it succeeded, and what it printed. */
  deleteLink(name: string): { ok: boolean; out: string };
}

function run(argv: readonly string[]): { ok: boolean; out: string } {
  const r = builtins
    .childProcess()
    .spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: NET_COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? r.error.message : ''}` };
}

/** iptables and ip of this machine. */
export class CommandNetAdmin implements NetAdmin {
  saveNat(): string | null {
    const r = builtins
      .childProcess()
      .spawnSync('iptables-save', ['-t', 'nat'], { encoding: 'utf8', timeout: NET_COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL' });
    return r.status === 0 ? r.stdout : null;
  }

  nat(args: readonly string[]): { ok: boolean; out: string } {
    return run(['iptables', '-w', '5', '-t', 'nat', ...args]);
  }

  deleteLink(name: string): { ok: boolean; out: string } {
    return run(['ip', 'link', 'delete', name]);
  }
}
