import { mountTargetProblem } from './paths.js';
import { constants } from 'node:os';
import { canonicalSignal, STOP_SIGNALS } from './signals.js';

const SIGNALS = constants.signals as Readonly<Record<string, number>>;
import type { ContainerFile, ContainerSecret, OnChange, UserSpec } from './types.js';
import type { PathError } from './normalize.js';

/** The shape the JSON Schema guarantees for `files` and `secrets` (and the network mode they are checked against). */
export interface RawFiles {
  network?: { mode?: string };
  files?: Array<{ target: string; content?: string; source?: string; mode?: string; uid?: number; gid?: number; onChange?: string }>;
  secrets?: Array<{ name: string; target?: string; mode?: string; uid?: number; gid?: number; onChange?: string }>;
}

/** Largest content of one file or secret (Kubernetes' limit for a ConfigMap or a Secret). */
export const MAX_CONTENT_BYTES = 1024 * 1024;

/** Where a secret goes when its entry names no target (Docker's and compose's place). */
export function defaultSecretTarget(name: string): string {
  return `/run/secrets/${name}`;
}

function parseOnChange(raw: string | undefined, path: Array<string | number>, errors: PathError[]): OnChange | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'restart' || raw === 'none') return raw;
  const r = canonicalSignal(raw.slice('signal:'.length));
  if ('error' in r) {
    const n = raw.slice('signal:'.length).toUpperCase();
    const known = /^[0-9]+$/.test(n) ? Object.keys(SIGNALS).find((k) => SIGNALS[k] === Number(n)) : n.startsWith('SIG') ? n : `SIG${n}`;
    errors.push({
      path,
      message: `onChange: ${raw}: ${known ?? n} is not a signal the container's init passes on (${STOP_SIGNALS.join(', ')})`,
    });
    return undefined;
  }
  return `signal:${r.name}`;
}

/** Whether `inner` is `outer` or lies below it. */
function within(inner: string, outer: string): boolean {
  const o = outer.replace(/\/+$/, '');
  return inner === o || inner.startsWith(`${o}/`);
}

/** Files pocker itself binds for bridge networking. */
const NETWORK_FILES = ['/etc/hosts', '/etc/hostname', '/etc/resolv.conf'];

/**
 * Checks the targets of files and secrets against each other and against every other mount
 * (`mounts` maps each mount target to the field that mounts it): a file inside another mount would
 * create its mount point in that mount's source (a host dir, a volume) or be hidden by a tmpfs; a
 * mount or file below a file cannot be; a file at one of the network's /etc files would be hidden.
 */
function checkTargets(
  targets: Array<{ target: string; at: Array<string | number> }>,
  mounts: ReadonlyMap<string, string>,
  bridge: boolean,
  errors: PathError[],
) {
  const seen = new Map<string, string>();
  for (const { target, at } of targets) {
    const p = mountTargetProblem(target);
    if (p) {
      errors.push({ path: at, message: p });
      continue;
    }
    if (target.endsWith('/')) errors.push({ path: at, message: `target ${target} names a directory: a file's target is a file path` });
    if (bridge && NETWORK_FILES.includes(target))
      errors.push({
        path: at,
        message: `target ${target} is written by pocker for bridge networking (network.aliases and peers' names go there)`,
      });
    const label = `${at[0]}[${at[1]}]`;
    const prev = seen.get(target) ?? mounts.get(target);
    if (prev !== undefined) errors.push({ path: at, message: `target ${target} is already used by ${prev}` });
    seen.set(target, label);
  }
  const files = targets.filter((t) => !mountTargetProblem(t.target));
  const others = [
    ...[...mounts].map(([m, by]) => ({ target: m, by })),
    ...files.map((t) => ({ target: t.target, by: `${t.at[0]}[${t.at[1]}]` })),
  ];
  for (const { target, at } of files)
    for (const o of others) {
      if (o.target === target) continue;
      if (within(target, o.target))
        errors.push({ path: at, message: `target ${target} lies inside ${o.by} (${o.target}): put it outside every other mount` });
      else if (within(o.target, target) && mounts.has(o.target))
        errors.push({ path: at, message: `${o.by} (${o.target}) lies below the file ${target}: a file cannot hold a mount` });
    }
}

/** Normalized `files` and `secrets` of the user spec (defaults left out), with every problem located. */
export function normalizeFiles(
  raw: RawFiles,
  mounts: ReadonlyMap<string, string>,
  errors: PathError[],
): { files?: NonNullable<UserSpec['files']>; secrets?: NonNullable<UserSpec['secrets']> } {
  const files = (raw.files ?? []).map((f, i) => {
    const at = (k: string) => ['files', i, k];
    if ((f.content === undefined) === (f.source === undefined))
      errors.push({ path: ['files', i], message: `files[${i}]: give exactly one of content and source` });
    if (f.source !== undefined && f.source.includes('\0')) errors.push({ path: at('source'), message: 'source cannot contain a NUL byte' });
    const onChange = parseOnChange(f.onChange, at('onChange'), errors);
    return {
      target: f.target,
      ...(f.content !== undefined && { content: f.content }),
      ...(f.source !== undefined && { source: f.source }),
      ...(f.mode !== undefined && { mode: parseInt(f.mode, 8) }),
      ...(f.uid !== undefined && { uid: f.uid }),
      ...(f.gid !== undefined && { gid: f.gid }),
      ...(onChange !== undefined && onChange !== 'restart' && { onChange }),
    };
  });
  const names = new Set<string>();
  const secrets = (raw.secrets ?? []).map((s, i) => {
    if (names.has(s.name)) errors.push({ path: ['secrets', i, 'name'], message: `secret ${s.name} is named twice` });
    names.add(s.name);
    const onChange = parseOnChange(s.onChange, ['secrets', i, 'onChange'], errors);
    return {
      name: s.name,
      ...(s.target !== undefined && s.target !== defaultSecretTarget(s.name) && { target: s.target }),
      ...(s.mode !== undefined && { mode: parseInt(s.mode, 8) }),
      ...(s.uid !== undefined && { uid: s.uid }),
      ...(s.gid !== undefined && { gid: s.gid }),
      ...(onChange !== undefined && onChange !== 'restart' && { onChange }),
    };
  });
  checkTargets(
    [
      ...files.map((f, i) => ({ target: f.target, at: ['files', i, 'target'] })),
      ...secrets.map((s, i) => ({ target: s.target ?? defaultSecretTarget(s.name), at: ['secrets', i, 'target'] })),
    ],
    mounts,
    raw.network?.mode === 'bridge',
    errors,
  );
  return { ...(files.length > 0 && { files }), ...(secrets.length > 0 && { secrets }) };
}

/** The files of a user spec with every default filled in (digests empty until a controller reads the contents). */
export function effectiveFiles(user: UserSpec): ContainerFile[] {
  return (user.files ?? []).map((f) => ({
    target: f.target,
    ...(f.source !== undefined && { source: f.source }),
    mode: f.mode ?? 0o644,
    uid: f.uid ?? 0,
    gid: f.gid ?? 0,
    onChange: f.onChange ?? 'restart',
    digest: '',
  }));
}

/** The secrets of a user spec with every default filled in (digests empty until a controller reads them). */
export function effectiveSecrets(user: UserSpec): ContainerSecret[] {
  return (user.secrets ?? []).map((s) => ({
    name: s.name,
    target: s.target ?? defaultSecretTarget(s.name),
    mode: s.mode ?? 0o400,
    uid: s.uid ?? 0,
    gid: s.gid ?? 0,
    onChange: s.onChange ?? 'restart',
    digest: '',
  }));
}
