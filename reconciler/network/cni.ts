import { join } from 'node:path';
import type { CniExec } from '../host/cniExec.js';
import { RuntimeError } from '../host/errors.js';
import type { CniConflist } from './conflist.js';

/** What identifies one attachment to the CNI runtime (CNI_CONTAINERID, CNI_NETNS, CNI_IFNAME). */
export interface Attachment {
  containerId: string;
  /** Path of the pinned network namespace; empty when it is gone (DEL still releases what it can). */
  netns: string;
  ifname: string;
  /** Runtime config for plugins that declare the capability (portMappings). */
  runtimeConfig: Record<string, unknown>;
}

/** The part of a CNI result pocker uses. */
export interface CniResult {
  cniVersion?: string;
  interfaces?: Array<{ name: string; mac?: string; sandbox?: string }>;
  ips?: Array<{ address: string; gateway?: string; interface?: number }>;
  [key: string]: unknown;
}

const PLUGIN_TYPE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Checks that every plugin of the list is a plain name present and executable in binDir. */
export function checkPlugins(cni: CniExec, conf: CniConflist, binDir: string): void {
  for (const p of conf.plugins) {
    if (!PLUGIN_TYPE.test(p.type))
      throw new RuntimeError('NETWORK', `CNI network "${conf.name}": plugin type ${JSON.stringify(p.type)} is not a plain name`);
    if (!cni.available(join(binDir, p.type))) {
      throw new RuntimeError(
        'NETWORK',
        `CNI plugin "${p.type}" of network "${conf.name}" not found in ${binDir} (Debian: apt-get install containernetworking-plugins)`,
        { path: join(binDir, p.type) },
      );
    }
  }
}

/** The configuration one plugin receives on stdin (CNI spec: the list's name and version, runtimeConfig for its capabilities, the previous result). */
function pluginConf(conf: CniConflist, i: number, a: Attachment, prevResult: CniResult | undefined): string {
  const p = conf.plugins[i]!;
  const caps = Object.keys(p.capabilities ?? {}).filter((k) => p.capabilities![k] && k in a.runtimeConfig);
  return JSON.stringify({
    ...p,
    name: conf.name,
    cniVersion: conf.cniVersion,
    ...(caps.length && { runtimeConfig: Object.fromEntries(caps.map((k) => [k, a.runtimeConfig[k]])) }),
    ...(prevResult && { prevResult }),
  });
}

/** Runs one plugin through the host's CniExec and returns its parsed stdout; a failure or a timeout is an error naming the plugin. */
async function execPlugin(
  cni: CniExec,
  binDir: string,
  type: string,
  command: 'ADD' | 'DEL',
  a: Attachment,
  stdin: string,
  timeoutMs: number,
): Promise<CniResult | null> {
  const env = {
    CNI_COMMAND: command,
    CNI_CONTAINERID: a.containerId,
    CNI_NETNS: a.netns,
    CNI_IFNAME: a.ifname,
    CNI_PATH: binDir,
    PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
  };
  const path = join(binDir, type);
  const r = await cni.run(path, env, stdin, timeoutMs);
  if (r.spawnError) throw new RuntimeError('NETWORK', `CNI ${command} ${type}: ${r.spawnError.message}`, { path, cause: r.spawnError });
  if (r.timedOut)
    throw new RuntimeError(
      'NETWORK',
      `CNI ${command} ${type} (${a.containerId}): timed out after ${timeoutMs} ms (killed its process group)`,
      { path },
    );
  let parsed: (CniResult & { code?: number; msg?: string; details?: string }) | null = null;
  try {
    parsed = r.stdout.trim() ? JSON.parse(r.stdout) : null;
  } catch {
    /* not JSON: reported below */
  }
  if (r.code === 0) return parsed;
  const why = parsed?.msg
    ? `${parsed.msg}${parsed.details ? `: ${parsed.details}` : ''}`
    : (r.stderr || r.stdout).trim() || `exit status ${r.code}`;
  throw new RuntimeError('NETWORK', `CNI ${command} ${type} (${a.containerId}): ${why}`, { path });
}

/** CNI ADD of the whole list, in order; on a failure, DEL of the whole list, then the error. */
export async function cniAdd(cni: CniExec, conf: CniConflist, binDir: string, a: Attachment, timeoutMs: number): Promise<CniResult> {
  let result: CniResult | undefined;
  try {
    for (let i = 0; i < conf.plugins.length; i++) {
      result = (await execPlugin(cni, binDir, conf.plugins[i]!.type, 'ADD', a, pluginConf(conf, i, a, result), timeoutMs)) ?? result;
    }
  } catch (e) {
    await cniDel(cni, conf, binDir, a, timeoutMs, result).catch(() => undefined);
    throw e;
  }
  if (!result) throw new RuntimeError('NETWORK', `CNI ADD of network "${conf.name}" returned no result`);
  return result;
}

/** CNI DEL of the whole list, in reverse order; every plugin is asked even when one fails (the first error is thrown). */
export async function cniDel(
  cni: CniExec,
  conf: CniConflist,
  binDir: string,
  a: Attachment,
  timeoutMs: number,
  prevResult?: CniResult,
): Promise<void> {
  let first: unknown;
  for (let i = conf.plugins.length - 1; i >= 0; i--) {
    try {
      await execPlugin(cni, binDir, conf.plugins[i]!.type, 'DEL', a, pluginConf(conf, i, a, prevResult), timeoutMs);
    } catch (e) {
      first ??= e;
    }
  }
  if (first) throw first;
}
