/**
 * A container name: a DNS label (lowercase letters, digits and "-", at most 63 characters,
 * starting and ending with a letter or digit). Names are safe as path components and cgroup names.
 */
export const CONTAINER_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** Whether a string is a container name. */
export function isContainerName(s: string): boolean {
  return CONTAINER_NAME.test(s);
}

/** A volume name (as the schema's pattern): safe as one path component. */
export const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** Whether a string is a volume name. */
export function isVolumeName(s: string): boolean {
  return VOLUME_NAME.test(s);
}
