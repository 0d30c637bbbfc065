import { containersDataDir, instanceFile, type InstanceDirs } from '../state/layout.js';
import type { Host, HostReader } from '../host/host.js';
import { parseLegacyRecord } from '../state/records.js';
import { containerPaths } from '../state/layout.js';

/** `<data-dir>/instance.json`: the instance a data dir belongs to. */
export interface InstanceFile {
  version: 1;
  stateDir: string;
  dataDir: string;
  cgroupParent: string;
  createdAtMs: number;
}

/** Why an instance cannot be used as given: its flags disagree with its data dir, or the data dir cannot tell. */
export class InstanceError extends Error {
  constructor(
    readonly code: 'INSTANCE_MISMATCH' | 'INSTANCE_UNCLAIMED' | 'INSTANCE_FILE',
    message: string,
    readonly path: string,
  ) {
    super(message);
    this.name = 'InstanceError';
  }
}

const FLAGS: Array<[keyof InstanceDirs, string]> = [
  ['stateDir', '--state-dir'],
  ['cgroupParent', '--cgroup-parent'],
  ['dataDir', '--data-dir'],
];

/** The data dir's identity file, or null when there is none. */
export function readInstanceFile(host: HostReader, dirs: InstanceDirs): InstanceFile | null {
  const path = instanceFile(dirs);
  const text = host.readFile(path);
  if (text === null) return null;
  try {
    const v = JSON.parse(text) as InstanceFile;
    if (v.version === 1 && typeof v.stateDir === 'string' && typeof v.dataDir === 'string' && typeof v.cgroupParent === 'string') return v;
  } catch {
    /* reported below */
  }
  throw new InstanceError(
    'INSTANCE_FILE',
    `${path} is not an instance file pocker can read; it names the instance this data dir belongs to (see pocker instance --help)`,
    path,
  );
}

/** What differs between the flags of a command and the instance a data dir belongs to ("" when nothing). */
export function identityMismatch(recorded: InstanceDirs, given: InstanceDirs): string {
  const diffs = FLAGS.filter(([k]) => recorded[k] !== given[k]).map(([k, flag]) => `${flag} ${given[k]} (the instance has ${recorded[k]})`);
  return diffs.join(', ');
}

/**
 * Containers of a data dir made by a release before instance files, and whether the records of
 * this state dir vouch for them (their cgroup parent then must be this one).
 */
function unclaimedContainers(host: HostReader, dirs: InstanceDirs): { names: string[]; vouched: string[]; parents: string[] } {
  const names = (host.readDir(containersDataDir(dirs)) ?? []).filter((n) => !n.startsWith('.'));
  const vouched: string[] = [];
  const parents = new Set<string>();
  for (const n of names) {
    const text = host.readFile(containerPaths(dirs, n).legacyRecord);
    const r = text === null ? null : parseLegacyRecord(text);
    if (r && 'value' in r) {
      vouched.push(n);
      parents.add(r.value.cgroupParent);
    }
  }
  return { names, vouched, parents: [...parents] };
}

/**
 * Makes sure this command's directories are those of the instance its data dir belongs to, so a
 * pass with other flags never mistakes another instance's containers for garbage. With `claim`
 * (commands that change the host), a data dir without an identity gets one: at once when it holds
 * no container, or when the legacy records in this state dir vouch for its containers.
 */
export function checkInstance(host: Host | HostReader, dirs: InstanceDirs, claim: boolean): void {
  const recorded = readInstanceFile(host, dirs);
  const path = instanceFile(dirs);
  if (recorded) {
    const diff = identityMismatch(recorded, dirs);
    if (diff) {
      throw new InstanceError(
        'INSTANCE_MISMATCH',
        `data dir ${dirs.dataDir} belongs to the instance of --state-dir ${recorded.stateDir} and --cgroup-parent ${recorded.cgroupParent} (${path}); this command was given ${diff}. Use the same flags or --config as the controller (the systemd unit reads /etc/pocker/pocker.yaml); to move the instance on purpose, see pocker instance move --help`,
        path,
      );
    }
    return;
  }
  if (!claim) return;
  const legacy = unclaimedContainers(host, dirs);
  if (legacy.names.length && legacy.vouched.length === 0) {
    throw new InstanceError(
      'INSTANCE_UNCLAIMED',
      `data dir ${dirs.dataDir} holds containers (${legacy.names.slice(0, 5).join(', ')}${legacy.names.length > 5 ? ', …' : ''}) made by an earlier release, and no record in --state-dir ${dirs.stateDir} says which instance they belong to; if they are this instance's, say so once with pocker instance claim (same flags)`,
      path,
    );
  }
  const foreign = legacy.parents.filter((p) => p !== dirs.cgroupParent);
  if (foreign.length) {
    throw new InstanceError(
      'INSTANCE_MISMATCH',
      `the containers of data dir ${dirs.dataDir} live under --cgroup-parent ${foreign.join(', ')}; this command was given --cgroup-parent ${dirs.cgroupParent}`,
      path,
    );
  }
  writeInstanceFile(host as Host, dirs);
}

/** Records that the data dir belongs to these directories (durably; the data dir made private). */
export function writeInstanceFile(host: Host, dirs: InstanceDirs): void {
  host.mkdir(dirs.dataDir, 0o700);
  const file: InstanceFile = {
    version: 1,
    stateDir: dirs.stateDir,
    dataDir: dirs.dataDir,
    cgroupParent: dirs.cgroupParent,
    createdAtMs: Date.now(),
  };
  host.writeFileDurable(instanceFile(dirs), `${JSON.stringify(file)}\n`, 0o600);
}
