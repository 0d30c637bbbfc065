import { builtins } from '../builtins.js';
import type { UserSpec } from './types.js';

/** Bumped when the meaning of a normalized field changes, so old hashes never match new ones. */
export const HASH_VERSION = 'pocker/v1#1';

/** JSON with object keys sorted at every level: equal values always give equal text. */
export function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
}

/** Versioned hash of a normalized user spec (16 hex digits). */
export function specHash(user: UserSpec): string {
  return builtins.crypto().createHash('sha256').update(HASH_VERSION).update('\0').update(stableJson(user)).digest('hex').slice(0, 16);
}

/**
 * A desired container whose `hash` is the spec hash of its `user`, computed when first read:
 * validate never reads it, and so never loads node:crypto.
 */
export function withSpecHash<T extends { user: UserSpec }>(d: T): T & { hash: string } {
  let hash: string | undefined;
  return Object.defineProperty(d, 'hash', { get: () => (hash ??= specHash(d.user)), enumerable: true, configurable: true }) as T & {
    hash: string;
  };
}
