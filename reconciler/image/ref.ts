/**
 * Image references as the store names images: `NAME:TAG`, NAME being slash-separated lowercase
 * components (the first may be a registry host with a port), TAG Docker's tag grammar. Digest
 * references (`NAME@sha256:...`) are not names in the store.
 */

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const HOST = '[a-z0-9]+(?:[.-][a-z0-9]+)*(?::[0-9]+)?';
const TAG = '[A-Za-z0-9_][A-Za-z0-9._-]{0,127}';

/** Source of the reference pattern (the spec schema's `image.ref` pattern is this, anchored). */
export const REF_PATTERN = `^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*:${TAG}$`;

const REF = new RegExp(REF_PATTERN);
const NAME = new RegExp(`^(?:${HOST}/)?${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_ONLY = new RegExp(`^${TAG}$`);

/** Longest reference accepted. */
export const MAX_REF_LENGTH = 255;

/** Whether s is a complete reference `NAME:TAG`. */
export function isRef(s: string): boolean {
  return s.length <= MAX_REF_LENGTH && REF.test(s);
}

/** Whether s is a tag alone (`latest`, `1.36`). */
export function isTag(s: string): boolean {
  return TAG_ONLY.test(s);
}

/**
 * The reference a user gave on the command line: `NAME:TAG` as is, `NAME` with `defaultTag`
 * (`latest` when none). Returns why not when it is no reference.
 */
export function completeRef(s: string, defaultTag = 'latest'): { ref: string } | { error: string } {
  if (isRef(s)) return { ref: s };
  if (NAME.test(s) && isRef(`${s}:${defaultTag}`)) return { ref: `${s}:${defaultTag}` };
  return {
    error: `"${s}" is not an image reference NAME[:TAG] (lowercase name components separated by "/", e.g. busybox:1.36 or example.com/team/app:v2)`,
  };
}
