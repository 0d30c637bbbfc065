import { posix } from 'node:path';
import { ioDeviceProblems, type IoDeviceProblem } from '../limits/io.js';
import type { ContainerSpec } from '../spec/types.js';
import { formatCpuList, parseCpuList } from '../spec/cpuset.js';
import type { HostFacts } from './facts.js';
import type { HostReader } from '../host/host.js';
import { workloadEnv } from './monitorConfig.js';
import { userProblems } from './imageFiles.js';
import { startSizeProblems } from './startLimits.js';
import type { ContainerPaths } from '../state/layout.js';
import { NETWORK_ETC_FILES } from '../network/etcFiles.js';

type Lookup = 'found' | 'missing' | 'unknown';

/** lstat results shared by the checks of one pass (containers usually share their layers). */
export type LookupCache = Map<string, ReturnType<HostReader['lkind']>>;

/** Looks a container path up in the layers, top first, without following symlinks out of them. */
function lookupInLayers(layers: readonly string[], path: string, host: HostReader, cache: LookupCache): Lookup {
  let unknown = false;
  for (const layer of [...layers].reverse()) {
    let at = layer;
    let state: Lookup = 'found';
    for (const seg of path.split('/').filter(Boolean)) {
      at = posix.join(at, seg);
      let k = cache.get(at);
      if (k === undefined) {
        k = host.lkind(at);
        cache.set(at, k);
      }
      if (k === null) {
        state = 'missing';
        break;
      }
      if (k === 'symlink') {
        state = 'unknown';
        break;
      }
    }
    if (state === 'found') return 'found';
    if (state === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : 'missing';
}

function commandProblem(spec: ContainerSpec, host: HostReader, cache: LookupCache): string | null {
  if (!spec.command.length) return 'nothing to run: the image has neither Entrypoint nor Cmd, and the spec gives no command';
  const program = spec.command[0]!;
  if (program.includes('/')) {
    const abs = program.startsWith('/') ? program : posix.join(spec.workingDir, program);
    return lookupInLayers(spec.layers, abs, host, cache) === 'missing' ? `command ${program} not found in the image layers` : null;
  }
  const path = workloadEnv(spec).PATH ?? '';
  let unknown = false;
  for (const dir of path.split(':').filter((d) => d.startsWith('/'))) {
    const r = lookupInLayers(spec.layers, posix.join(dir, program), host, cache);
    if (r === 'found') return null;
    if (r === 'unknown') unknown = true;
  }
  return unknown ? null : `command ${program} not found in the image layers' PATH (${path})`;
}

/**
 * Why a spec's io throttles cannot be applied here: no blkio/io controller, or a device path that
 * did not resolve to a whole-disk block device (each problem names the path).
 */
export function ioProblems(spec: ContainerSpec, facts: HostFacts): IoDeviceProblem[] {
  const io = spec.resources.io ?? [];
  if (io.length && !facts.ioSupported) {
    return [
      {
        device: io[0]!.device,
        message: 'resources.io needs the blkio controller (cgroup v1) or the io controller (cgroup v2), which this host does not offer',
      },
    ];
  }
  return ioDeviceProblems(io, facts.blockDevices);
}

/** Where a start will run: the container's paths, and whether it keeps its writable layer (whose files then count too). */
export interface StartSite {
  paths: ContainerPaths;
  keepLayer: boolean;
}

/**
 * The problems of a spec that only a change of the spec can mend on this host: sizes the kernel
 * or the monitor refuse (they depend on the spec and on this process's stack limit), and memsw on
 * a kernel booted without swap accounting. A start failing on these alone is not retried.
 */
export function unchangeableProblems(spec: ContainerSpec, facts: HostFacts, site?: StartSite): string[] {
  const problems: string[] = [];
  if (site) problems.push(...startSizeProblems(spec, site.paths, facts.argMax, spec.network.mode === 'bridge' ? NETWORK_ETC_FILES : 0));
  const r = spec.resources;
  if (!facts.memswSupported && r.memory !== undefined && r.memsw !== undefined && r.memsw !== r.memory) {
    problems.push('memsw needs swap accounting, which this kernel has off (boot with swapaccount=1 on cgroup v1)');
  }
  return problems;
}

/** Where Debian's nftables puts nft. */
const NFT_PATHS = ['/usr/sbin/nft', '/sbin/nft'];

/** Why a spec's firewall rules cannot be applied on this host (no nft), or null. */
export function firewallToolProblem(spec: ContainerSpec, host: HostReader): string | null {
  if (!spec.network.ingress.length && !spec.network.egress.length) return null;
  return NFT_PATHS.some((p) => host.kind(p) === 'file')
    ? null
    : 'network.ingress/egress need nft, which is not installed (apt-get install nftables)';
}

/**
 * Checks of everything a start depends on that can be checked before anything is changed (and
 * before a recreate stops the old container): layers, mount sources, nft for firewall rules, CPUs,
 * swap accounting, sizes the kernel or the monitor would refuse, the user and group in the image,
 * the program itself.
 */
export function hostProblems(
  spec: ContainerSpec,
  facts: HostFacts,
  host: HostReader,
  cache: LookupCache = new Map(),
  site?: StartSite,
): string[] {
  const problems = unchangeableProblems(spec, facts, site);
  for (const layer of spec.layers) {
    const k = host.kind(layer);
    if (k === null) problems.push(`layer ${layer} does not exist`);
    else if (k !== 'dir') problems.push(`layer ${layer} is not a directory`);
  }
  for (const m of spec.mounts) if (host.kind(m.source) === null) problems.push(`mount source ${m.source} does not exist`);
  const nft = firewallToolProblem(spec, host);
  if (nft) problems.push(nft);
  const r = spec.resources;
  if (r.cpuset !== undefined) {
    const parsed = parseCpuList(r.cpuset);
    const offline = 'cpus' in parsed ? parsed.cpus.filter((c) => !facts.onlineCpus.includes(c)) : [];
    if (offline.length)
      problems.push(
        `cpuset ${r.cpuset} names CPU(s) ${formatCpuList(offline)}, not online here (online: ${formatCpuList(facts.onlineCpus)})`,
      );
  }
  if (r.cpus !== undefined && r.cpus > facts.onlineCpus.length)
    problems.push(`cpus ${r.cpus} is more than the ${facts.onlineCpus.length} CPU(s) of this host`);
  if (!problems.length) {
    const c = commandProblem(spec, host, cache);
    if (c) problems.push(c);
    const layersTopFirst = [...(site?.keepLayer ? [site.paths.upper] : []), ...[...spec.layers].reverse()];
    problems.push(...userProblems(spec.user, layersTopFirst, host));
  }
  return problems;
}
