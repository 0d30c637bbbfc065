import type { ContainerSpec } from '../spec/types.js';

/** One file or secret whose content, mode or owner differs from what the running container has. */
export interface FileChange {
  kind: 'file' | 'secret';
  target: string;
  /** What the change does once the file is rewritten (the desired entry's onChange). */
  onChange: ContainerSpec['files'][number]['onChange'];
}

/** How the files and secrets of a running container differ from the desired ones. */
export interface FileDiff {
  /** `files` or `secrets` whose set of targets changed: the mounts change, so the container is recreated. */
  layoutChanged: Array<'files' | 'secrets'>;
  /** Entries to rewrite in place (content, mode, owner), each with its onChange. */
  changed: FileChange[];
  /** Only onChange differs somewhere: the record is rewritten, nothing else. */
  recordOnly: boolean;
}

function targets(entries: ReadonlyArray<{ target: string }>): string {
  return JSON.stringify(entries.map((e) => e.target).sort());
}

/**
 * Compares the files and secrets a container runs with (its record) to the desired ones. An
 * unknown desired digest (empty: the load read no contents) never counts as a change.
 */
export function diffFiles(was: Pick<ContainerSpec, 'files' | 'secrets'>, now: Pick<ContainerSpec, 'files' | 'secrets'>): FileDiff {
  const layoutChanged = (['files', 'secrets'] as const).filter((k) => targets(was[k]) !== targets(now[k]));
  if (layoutChanged.length) return { layoutChanged, changed: [], recordOnly: false };
  const changed: FileChange[] = [];
  let recordOnly = false;
  const entries = [
    ...now.files.map((f) => ({ kind: 'file' as const, e: f, old: was.files.find((o) => o.target === f.target)! })),
    ...now.secrets.map((s) => ({ kind: 'secret' as const, e: s, old: was.secrets.find((o) => o.target === s.target)! })),
  ];
  for (const { kind, e, old } of entries) {
    const content = e.digest !== '' && e.digest !== old.digest;
    if (content || e.mode !== old.mode || e.uid !== old.uid || e.gid !== old.gid)
      changed.push({ kind, target: e.target, onChange: e.onChange });
    else if (e.onChange !== old.onChange || ('name' in e && 'name' in old && e.name !== old.name)) recordOnly = true;
  }
  return { layoutChanged, changed, recordOnly };
}

/** The action the changes ask for: a restart when any of them says so, else the signals to send (each once, in order). */
export function fileChangeEffect(changes: readonly FileChange[]): { restart: true } | { restart: false; signals: string[] } {
  if (changes.some((c) => c.onChange === 'restart')) return { restart: true };
  const signals: string[] = [];
  for (const c of changes) {
    if (!c.onChange.startsWith('signal:')) continue;
    const s = c.onChange.slice('signal:'.length);
    if (!signals.includes(s)) signals.push(s);
  }
  return { restart: false, signals };
}

/** A change as plans and logs show it. */
export function describeFileChanges(changes: readonly FileChange[]): string {
  return changes.map((c) => `${c.kind === 'secret' ? 'secret ' : ''}${c.target} (onChange: ${c.onChange})`).join(', ');
}
