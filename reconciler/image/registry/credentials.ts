/**
 * Registry credentials from the auth files Docker, podman and pocker write: a JSON object whose
 * `auths` map has one entry per registry (`{"auth": base64("user:password")}` or
 * `{"username", "password"}`). Credential helpers (`credsStore`, `credHelpers`) and identity tokens
 * are not run or used: entries without a password are skipped.
 */
import { closeSync, fstatSync, openSync } from 'node:fs';
import { readWhole } from '../../host/readWhole.js';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ImageError } from '../errors.js';
import { DOCKER_HUB } from '../../spec/imageReference.js';

/** A user name and password for one registry (sent as HTTP basic auth, or to its token server). */
export interface Credential {
  username: string;
  password: string;
}

/** Credentials by registry, and where each came from. */
export interface CredentialStore {
  /**
   * The credential for a registry (`docker.io`, `host:5000`). With a repository, an entry for a
   * namespace of it (`host/team`, as podman's auth.json allows) is preferred over the registry's.
   */
  get(registry: string, repository?: string): Credential | null;
  /** Which file the credential came from, for messages. */
  source(registry: string, repository?: string): string | null;
  /** The files that were looked in, in order (for messages saying none was found). */
  readonly files?: readonly string[];
}

/** Largest auth file read. */
export const MAX_AUTH_FILE_BYTES = 1 << 20;

/**
 * The auth files, in the order they are read: /etc/pocker/auth.json,
 * ${XDG_RUNTIME_DIR}/containers/auth.json (when XDG_RUNTIME_DIR is set), and Docker's config.json
 * (${DOCKER_CONFIG}/config.json when DOCKER_CONFIG is set, as Docker does, else ~/.docker/config.json).
 */
export const DEFAULT_AUTH_FILES = (): string[] => {
  const files = ['/etc/pocker/auth.json'];
  if (process.env.XDG_RUNTIME_DIR) files.push(join(process.env.XDG_RUNTIME_DIR, 'containers', 'auth.json'));
  const dockerDir = process.env.DOCKER_CONFIG || join(process.env.HOME || homedir(), '.docker');
  files.push(join(dockerDir, 'config.json'));
  return files;
};

/**
 * The key an auth file entry is stored under: its host, lowercase, without scheme or the legacy
 * `/v1/` API path, Docker Hub's aliases as `docker.io`; a namespace path (`quay.io/team`) is kept
 * when there is no scheme.
 */
export function normalizeAuthKey(key: string): string {
  let k = key.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(k);
  if (scheme) {
    k = k.slice(scheme[0].length);
    const slash = k.indexOf('/');
    if (slash >= 0) k = k.slice(0, slash);
  }
  k = k.replace(/\/+$/, '');
  const slash = k.indexOf('/');
  const host = (slash >= 0 ? k.slice(0, slash) : k).toLowerCase();
  const path = slash >= 0 ? k.slice(slash) : '';
  const hub = host === 'index.docker.io' || host === 'registry-1.docker.io' || host === DOCKER_HUB;
  return `${hub ? DOCKER_HUB : host}${hub && path === '/v1' ? '' : path}`;
}

function invalid(file: string, why: string, cause?: unknown): ImageError {
  return new ImageError('REGISTRY_AUTH', `credentials file ${file}: ${why}`, { path: file, ...(cause !== undefined && { cause }) });
}

/** The file's bytes, or null when it (or its directory) does not exist. */
function readAuthFile(file: string): Buffer | null {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    throw invalid(file, `cannot be read (${code ?? (e as Error).message})`, e);
  }
  try {
    const size = fstatSync(fd).size;
    if (size > MAX_AUTH_FILE_BYTES) throw invalid(file, `is larger than ${MAX_AUTH_FILE_BYTES} bytes`);
    return readWhole(fd, size);
  } catch (e) {
    if (e instanceof ImageError) throw e;
    throw invalid(file, `cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, e);
  } finally {
    closeSync(fd);
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);

/** The credential of one `auths` entry, null for entries that hold none (helper-managed, token only). */
function parseEntry(file: string, key: string, entry: unknown): Credential | null {
  const where = `entry ${JSON.stringify(key)}`;
  if (!isObject(entry)) throw invalid(file, `${where} is not an object`);
  if (entry.auth !== undefined && entry.auth !== '') {
    if (typeof entry.auth !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(entry.auth))
      throw invalid(file, `${where}: "auth" is not base64 text`);
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw invalid(file, `${where}: "auth" does not decode to "user:password"`);
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (entry.username !== undefined || entry.password !== undefined) {
    if (typeof entry.username !== 'string' || typeof entry.password !== 'string')
      throw invalid(file, `${where}: "username" and "password" must both be strings`);
    return { username: entry.username, password: entry.password };
  }
  return null;
}

/** The entries of one auth file by normalized key (the first of several keys meaning the same registry wins). */
function parseAuthFile(file: string, bytes: Buffer): Map<string, Credential> {
  let doc: unknown;
  try {
    doc = JSON.parse(bytes.toString('utf8'));
  } catch (e) {
    throw invalid(file, `is not valid JSON (${(e as Error).message})`, e);
  }
  if (!isObject(doc)) throw invalid(file, 'is not a JSON object');
  const out = new Map<string, Credential>();
  if (doc.auths === undefined) return out;
  if (!isObject(doc.auths)) throw invalid(file, '"auths" is not an object');
  for (const [key, entry] of Object.entries(doc.auths)) {
    const cred = parseEntry(file, key, entry);
    const k = normalizeAuthKey(key);
    if (cred && !out.has(k)) out.set(k, cred);
  }
  return out;
}

/** Keys to look up for a registry and repository, most specific first. */
function lookupKeys(registry: string, repository?: string): string[] {
  const host = normalizeAuthKey(registry);
  const keys: string[] = [];
  if (repository) {
    const parts = repository.split('/');
    for (let n = parts.length; n > 0; n--) keys.push(`${host}/${parts.slice(0, n).join('/')}`);
  }
  keys.push(host);
  return keys;
}

/**
 * Reads the auth files (default: DEFAULT_AUTH_FILES()) once, in order; the first file with an entry
 * for a registry wins. Missing files are skipped; an unreadable or invalid one throws
 * REGISTRY_AUTH naming the file (never a secret).
 */
export function loadCredentials(files: string[] = DEFAULT_AUTH_FILES()): CredentialStore {
  const entries = new Map<string, { cred: Credential; file: string }>();
  for (const file of files) {
    const bytes = readAuthFile(file);
    if (!bytes) continue;
    for (const [key, cred] of parseAuthFile(file, bytes)) if (!entries.has(key)) entries.set(key, { cred, file });
  }
  const find = (registry: string, repository?: string): { cred: Credential; file: string } | undefined => {
    for (const key of lookupKeys(registry, repository)) {
      const hit = entries.get(key);
      if (hit) return hit;
    }
    return undefined;
  };
  return {
    get: (registry, repository) => find(registry, repository)?.cred ?? null,
    source: (registry, repository) => find(registry, repository)?.file ?? null,
    files: [...files],
  };
}

/** A store with no credentials (anonymous pulls). */
export const NO_CREDENTIALS: CredentialStore = { get: () => null, source: () => null, files: [] };
