import { builtins } from '../builtins.js';

/** Longest wait for one nft run inside a container's network namespace. */
export const NFT_TIMEOUT_MS = 10_000;

/** What one nft run gave. */
export interface NftResult {
  ok: boolean;
  /** stdout (the listing) when it succeeded, else what it printed. */
  out: string;
}

/**
 * nftables inside a container's network namespace (pinned at a path): the real one runs
 * `nsenter --net=PATH -- nft ...` (argv only, bounded in time); a fake keeps tables in memory.
 */
export interface NetnsFirewall {
  /** `nft -f -` with the script on stdin: one atomic transaction. */
  apply(netns: string, script: string): Promise<NftResult>;
  /** `nft -j list table inet NAME`: ok with the JSON; not ok when there is no such table or nft failed (out says which). */
  list(netns: string, table: string): Promise<NftResult & { missing?: boolean }>;
}

function nft(netns: string, args: string[], stdin?: string): Promise<NftResult> {
  return new Promise((resolve) => {
    const child = builtins
      .childProcess()
      .execFile(
        'nsenter',
        [`--net=${netns}`, '--', 'nft', ...args],
        { timeout: NFT_TIMEOUT_MS, killSignal: 'SIGKILL', maxBuffer: 16 * 2 ** 20 },
        (err, stdout, stderr) => {
          if (!err) return resolve({ ok: true, out: stdout });
          const why = (err as NodeJS.ErrnoException & { killed?: boolean }).killed ? `timed out after ${NFT_TIMEOUT_MS} ms` : err.message;
          resolve({ ok: false, out: `${stderr || stdout || why}`.trim() });
        },
      );
    if (stdin !== undefined) child.stdin?.end(stdin);
  });
}

/** nft of this machine, entered into each namespace with nsenter. */
export class CommandFirewall implements NetnsFirewall {
  apply(netns: string, script: string): Promise<NftResult> {
    return nft(netns, ['-f', '-'], script);
  }

  async list(netns: string, table: string): Promise<NftResult & { missing?: boolean }> {
    const r = await nft(netns, ['-j', 'list', 'table', 'inet', table]);
    return r.ok ? r : { ...r, ...(/No such file or directory/.test(r.out) && { missing: true }) };
  }
}
