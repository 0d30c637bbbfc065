import type { SpecSource } from '../spec/types.js';

/**
 * Owner key of containers started by `pocker run`. No spec dir can be named by the empty string,
 * so no reconcile pass ever owns (and removes) them.
 */
export const ADHOC_SOURCE_DIR = '';

/** The source recorded for an ad-hoc container. */
export function adhocSource(name: string): SpecSource {
  return { dir: ADHOC_SOURCE_DIR, file: name, doc: 0 };
}

/** Whether a container was started by `pocker run` rather than from a spec file. */
export function isAdhoc(source: SpecSource): boolean {
  return source.dir === ADHOC_SOURCE_DIR;
}

/** Where a container comes from, for people: its spec file, or "pocker run". */
export function describeSource(source: SpecSource): string {
  return isAdhoc(source) ? 'pocker run' : `${source.dir}/${source.file}`;
}
