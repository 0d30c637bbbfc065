import { builtins } from '../builtins.js';
import {
  closeSync,
  constants,
  fstatSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { readWhole } from '../host/readWhole.js';
import { MAX_CONTENT_BYTES } from '../spec/files.js';
import type { ContentReader } from '../spec/contents.js';
import { trustProblem, type Trust } from '../spec/load.js';

/** The file of the data dir holding the key secret digests are made with (32 random bytes, root only). */
export function secretKeyPath(dataDir: string): string {
  return join(dataDir, 'secret.key');
}

const KEY_BYTES = 32;

/** The data dir's secret key, made on first use (two controllers racing agree: the first link wins). */
function secretKey(dataDir: string): Buffer {
  const path = secretKeyPath(dataDir);
  try {
    const st = lstatSync(path);
    const bad = st.isFile() ? secretModeProblem(st, `secret key ${path}`, 0o077) : `secret key ${path} is not a regular file`;
    if (bad) throw new Error(bad);
    const k = readFileSync(path);
    if (k.length === KEY_BYTES) return k;
    throw new Error(`secret key ${path} is ${k.length} bytes, not ${KEY_BYTES}: remove it (every secret's digest changes once)`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.${builtins.crypto().randomBytes(6).toString('hex')}.tmp`;
  writeFileSync(tmp, builtins.crypto().randomBytes(KEY_BYTES), { mode: 0o600, flag: 'wx' });
  try {
    linkSync(tmp, path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  } finally {
    unlinkSync(tmp);
  }
  return readFileSync(path);
}

function errnoText(e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  return err.code ?? err.message;
}

/** Reads an open regular file of at most MAX_CONTENT_BYTES. */
function readCapped(fd: number): { data: Buffer } | { error: string } {
  const st = fstatSync(fd);
  if (!st.isFile()) return { error: 'not a regular file' };
  if (st.size > MAX_CONTENT_BYTES) return { error: `${st.size} bytes, more than ${MAX_CONTENT_BYTES}` };
  return { data: readWhole(fd, st.size) };
}

/** Why a secret (or its dir) with this owner and mode is refused: root's, reachable by nobody else. */
function secretModeProblem(st: { uid: number; mode: number }, what: string, mask: number): string | null {
  if (st.uid !== 0) return `refusing ${what}: owned by uid ${st.uid}, not by root`;
  if (st.mode & mask)
    return `refusing ${what}: mode ${(st.mode & 0o777).toString(8)} lets others in; chmod ${mask === 0o077 ? 'go=' : 'go-w'}`;
  return null;
}

/**
 * The host's content reader: file sources (regular files, at most 1 MiB, owned and moded like spec
 * files when the controller checks trust), secrets from `secretsDir` (the dir owned by root and
 * writable by nobody else, each secret a regular file, not a symlink, owned by root and readable by
 * nobody else), digests keyed by the data dir's secret key.
 */
export function hostContentReader(o: { dataDir: string; secretsDir: string; trust?: Trust }): ContentReader {
  let key: Buffer | undefined;
  return {
    readSource(path) {
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
      } catch (e) {
        return { error: errnoText(e) };
      }
      try {
        const distrust = trustProblem(fstatSync(fd), o.trust, 'this source');
        return distrust ? { error: distrust } : readCapped(fd);
      } catch (e) {
        return { error: errnoText(e) };
      } finally {
        closeSync(fd);
      }
    },
    readSecret(name) {
      const path = join(o.secretsDir, name);
      try {
        const dir = lstatSync(o.secretsDir);
        if (!dir.isDirectory()) return { error: `secrets dir ${o.secretsDir} is not a directory` };
        const bad = secretModeProblem(dir, `secrets dir ${o.secretsDir}`, 0o022);
        if (bad) return { error: bad };
      } catch (e) {
        return { error: `secrets dir ${o.secretsDir}: ${errnoText(e)}` };
      }
      let fd: number;
      try {
        fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        return { error: `${path}: ${code === 'ELOOP' ? 'a symlink (a secret must be a file of the secrets dir)' : errnoText(e)}` };
      }
      try {
        const bad = secretModeProblem(fstatSync(fd), path, 0o077);
        if (bad) return { error: bad };
        const r = readCapped(fd);
        return 'error' in r ? { error: `${path}: ${r.error}` } : r;
      } catch (e) {
        return { error: `${path}: ${errnoText(e)}` };
      } finally {
        closeSync(fd);
      }
    },
    secretDigest(data) {
      key ??= secretKey(o.dataDir);
      return `hmac-sha256:${builtins.crypto().createHmac('sha256', key).update(data).digest('hex')}`;
    },
  };
}
