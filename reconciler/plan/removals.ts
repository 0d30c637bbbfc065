import type { DirStatus } from '../spec/load.js';

/** Removals a decision kept back, and why (shown by the log, `pocker status` and `pocker plan`). */
export interface HeldRemovals {
  /** Which rule held them: the dir is unusable, it holds no spec file, more would go than the cap allows. */
  rule: 'unusable' | 'empty' | 'cap';
  count: number;
  /** The first few names. */
  names: string[];
  reason: string;
}

/** What decides whether a set of removals may happen. */
export interface RemovalRules {
  /** Remove even when the spec dir holds no spec file. */
  allowEmpty: boolean;
  /** Refuse every removal of a decision that would remove more than this many. */
  maxDeletions?: number;
}

/**
 * Decides on every removal of one look at the spec dir at once, all or nothing (pure): none when
 * the dir is unusable, none when it holds no spec file (a wiped or unmounted dir, a checkout half
 * done) unless allowEmpty, none when more than maxDeletions would go; otherwise all of them.
 */
export function decideRemovals(
  dir: string,
  status: DirStatus,
  fileCount: number,
  candidates: readonly string[],
  rules: RemovalRules,
): { approved: string[] } | { held: HeldRemovals } {
  if (!candidates.length) return { approved: [] };
  const held = (rule: HeldRemovals['rule'], reason: string): { held: HeldRemovals } => ({
    held: { rule, count: candidates.length, names: [...candidates].sort().slice(0, 10), reason },
  });
  if (status !== 'ok') return held('unusable', `spec dir ${dir} is unusable (${status}): nothing is removed`);
  if (fileCount === 0 && !rules.allowEmpty)
    return held('empty', `spec dir ${dir} has no spec files: ${candidates.length} container(s) kept; pass --allow-empty to remove them`);
  if (rules.maxDeletions !== undefined && candidates.length > rules.maxDeletions) {
    return held(
      'cap',
      `${candidates.length} containers would be removed at once, more than --max-deletions ${rules.maxDeletions}: removing none`,
    );
  }
  return { approved: [...candidates] };
}
