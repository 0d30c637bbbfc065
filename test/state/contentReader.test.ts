import { spawnSync } from 'node:child_process';
import { createHash, createHmac } from 'node:crypto';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MAX_CONTENT_BYTES } from '../../reconciler/spec/files.js';
import { hostContentReader, secretKeyPath } from '../../reconciler/state/contentReader.js';
import { DEFAULT_SECRETS_DIR } from '../../reconciler/state/layout.js';

const VALUE = 'the-secret-value-0b5e';
const OTHER = 'another-secret-value-77d1';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('hostContentReader', () => {
  let root: string;
  let secretsDir: string;
  let dataDir: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pocker-content-reader-'));
    secretsDir = join(root, 'secrets');
    dataDir = join(root, 'data');
    mkdirSync(secretsDir);
    chmodSync(secretsDir, 0o700);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Writes a secret of the secrets dir with exactly this mode. */
  const secret = (name: string, data: string | Buffer, mode = 0o400): string => {
    const p = join(secretsDir, name);
    writeFileSync(p, data);
    chmodSync(p, mode);
    return p;
  };
  const reader = (trust?: { uids: number[] }) => hostContentReader({ dataDir, secretsDir, ...(trust && { trust }) });
  const text = (r: { data: Buffer } | { error: string }): string => {
    if ('error' in r) throw new Error(`expected data, got error: ${r.error}`);
    return r.data.toString();
  };
  const error = (r: { data: Buffer } | { error: string }): string => {
    if (!('error' in r)) throw new Error('expected an error, got data');
    return r.error;
  };

  describe('readSecret', () => {
    it('reads a root-owned secret of mode 0400 or 0600 from a root-owned dir of mode 0700 or 0755', () => {
      secret('a', VALUE, 0o400);
      secret('b', OTHER, 0o600);
      for (const dirMode of [0o700, 0o755, 0o711, 0o500]) {
        chmodSync(secretsDir, dirMode);
        expect(text(reader().readSecret('a'))).toBe(VALUE);
        expect(text(reader().readSecret('b'))).toBe(OTHER);
      }
    });

    it('reads binary and empty secrets byte for byte', () => {
      const bin = Buffer.from([0, 0xff, 0x10, 0x80, 0x0a, 0]);
      secret('bin', bin);
      secret('empty', '');
      const r = reader().readSecret('bin');
      expect('data' in r && r.data.equals(bin)).toBe(true);
      expect(text(reader().readSecret('empty'))).toBe('');
    });

    it('refuses a secret that group or others can read, write or execute, without its value', () => {
      for (const mode of [0o640, 0o604, 0o644, 0o660, 0o602, 0o620, 0o401, 0o410, 0o444]) {
        secret('s', VALUE, mode);
        const e = error(reader().readSecret('s'));
        expect(e).toContain(join(secretsDir, 's'));
        expect(e).toMatch(/lets others in/);
        expect(e).toContain(mode.toString(8));
        expect(e).not.toContain(VALUE);
      }
    });

    it('refuses a secret owned by another uid than root, whatever its mode', () => {
      const p = secret('s', VALUE, 0o400);
      chownSync(p, 1000, 0);
      expect(error(reader().readSecret('s'))).toMatch(/owned by uid 1000, not by root/);
      chownSync(p, 0, 1000);
      expect(text(reader().readSecret('s'))).toBe(VALUE);
    });

    it('refuses a symlink, even to a good secret of the same dir', () => {
      secret('real', VALUE);
      symlinkSync('real', join(secretsDir, 'link'));
      const e = error(reader().readSecret('link'));
      expect(e).toMatch(/symlink/);
      expect(e).not.toContain(VALUE);
      const outside = join(root, 'outside');
      writeFileSync(outside, OTHER);
      chmodSync(outside, 0o400);
      symlinkSync(outside, join(secretsDir, 'escape'));
      expect(error(reader().readSecret('escape'))).toMatch(/symlink/);
    });

    it('refuses a directory', () => {
      mkdirSync(join(secretsDir, 'dir'));
      chmodSync(join(secretsDir, 'dir'), 0o700);
      expect(error(reader().readSecret('dir'))).toMatch(/not a regular file/);
      chmodSync(join(secretsDir, 'dir'), 0o755);
      expect(error(reader().readSecret('dir'))).not.toBe('');
    });

    it('refuses a FIFO without blocking', () => {
      const p = join(secretsDir, 'fifo');
      expect(spawnSync('mkfifo', ['-m', '0600', p]).status).toBe(0);
      expect(error(reader().readSecret('fifo'))).toMatch(/not a regular file/);
    });

    it('refuses a secret larger than 1 MiB, and reads one of exactly 1 MiB', () => {
      secret('big', Buffer.alloc(MAX_CONTENT_BYTES + 1, 0x61));
      expect(error(reader().readSecret('big'))).toMatch(new RegExp(`${MAX_CONTENT_BYTES + 1} bytes, more than ${MAX_CONTENT_BYTES}`));
      secret('max', Buffer.alloc(MAX_CONTENT_BYTES, 0x61));
      const r = reader().readSecret('max');
      expect('data' in r && r.data.length).toBe(MAX_CONTENT_BYTES);
    });

    it('refuses every secret of a secrets dir that group or others can write', () => {
      secret('s', VALUE);
      for (const mode of [0o770, 0o775, 0o702, 0o757, 0o777, 0o1777]) {
        chmodSync(secretsDir, mode);
        const e = error(reader().readSecret('s'));
        expect(e).toMatch(/secrets dir/);
        expect(e).toMatch(/lets others in/);
        expect(e).not.toContain(VALUE);
      }
    });

    it('refuses a secrets dir owned by another uid than root', () => {
      secret('s', VALUE);
      chownSync(secretsDir, 1000, 1000);
      expect(error(reader().readSecret('s'))).toMatch(/secrets dir .* owned by uid 1000, not by root/);
    });

    it('refuses a secrets dir that is a symlink, a file or missing', () => {
      secret('s', VALUE);
      const link = join(root, 'link');
      symlinkSync(secretsDir, link);
      expect(error(hostContentReader({ dataDir, secretsDir: link }).readSecret('s'))).toMatch(/not a directory/);
      const file = join(root, 'file');
      writeFileSync(file, '');
      expect(error(hostContentReader({ dataDir, secretsDir: file }).readSecret('s'))).toMatch(/not a directory/);
      const missing = join(root, 'missing');
      expect(error(hostContentReader({ dataDir, secretsDir: missing }).readSecret('s'))).toBe(`secrets dir ${missing}: ENOENT`);
    });

    it('says a missing secret is missing, naming only its own path', () => {
      secret('present', VALUE);
      secret('other-name-xyz', OTHER);
      const e = error(reader().readSecret('absent'));
      expect(e).toBe(`${join(secretsDir, 'absent')}: ENOENT`);
      expect(e).not.toContain('present');
      expect(e).not.toContain('other-name-xyz');
      expect(e).not.toContain(dataDir);
      expect(e).not.toContain(VALUE);
    });

    it('makes no key file by reading secrets', () => {
      secret('s', VALUE);
      reader().readSecret('s');
      expect(existsSync(secretKeyPath(dataDir))).toBe(false);
    });

    it('defaults to /etc/pocker/secrets', () => {
      expect(DEFAULT_SECRETS_DIR).toBe('/etc/pocker/secrets');
    });
  });

  describe('readSource', () => {
    /** Writes a source file with exactly this mode. */
    const source = (name: string, data: string | Buffer, mode = 0o644): string => {
      const p = join(root, name);
      writeFileSync(p, data);
      chmodSync(p, mode);
      return p;
    };

    it('reads a normal source with trust, and any source without', () => {
      const p = source('app.conf', 'a=1\n');
      expect(text(reader({ uids: [0] }).readSource(p))).toBe('a=1\n');
      const gw = source('gw.conf', 'b=2\n', 0o664);
      expect(text(reader().readSource(gw))).toBe('b=2\n');
    });

    it('refuses with trust a source that group or others can write', () => {
      for (const mode of [0o664, 0o646, 0o666, 0o620]) {
        const p = source('gw.conf', 'x', mode);
        expect(error(reader({ uids: [0] }).readSource(p))).toMatch(/refusing this source: writable by/);
      }
    });

    it('refuses with trust a source of an untrusted owner, and takes it when that uid is trusted', () => {
      const p = source('theirs.conf', 'x');
      chownSync(p, 1000, 1000);
      expect(error(reader({ uids: [0] }).readSource(p))).toMatch(/owned by uid 1000/);
      expect(text(reader({ uids: [0, 1000] }).readSource(p))).toBe('x');
    });

    it('refuses a source larger than 1 MiB, and reads one of exactly 1 MiB', () => {
      const big = source('big', Buffer.alloc(MAX_CONTENT_BYTES + 1, 0x62));
      expect(error(reader({ uids: [0] }).readSource(big))).toBe(`${MAX_CONTENT_BYTES + 1} bytes, more than ${MAX_CONTENT_BYTES}`);
      expect(error(reader().readSource(big))).toMatch(/more than/);
      const max = source('max', Buffer.alloc(MAX_CONTENT_BYTES, 0x62));
      const r = reader({ uids: [0] }).readSource(max);
      expect('data' in r && r.data.length).toBe(MAX_CONTENT_BYTES);
    });

    it('refuses a directory and a FIFO (without blocking), and says ENOENT of a missing source', () => {
      const dir = join(root, 'dir');
      mkdirSync(dir);
      chmodSync(dir, 0o755);
      expect(error(reader({ uids: [0] }).readSource(dir))).toBe('not a regular file');
      const fifo = join(root, 'fifo');
      expect(spawnSync('mkfifo', ['-m', '0644', fifo]).status).toBe(0);
      expect(error(reader({ uids: [0] }).readSource(fifo))).toBe('not a regular file');
      expect(error(reader().readSource(join(root, 'missing')))).toBe('ENOENT');
    });

    it('follows a symlink to a source and checks the file it reaches', () => {
      const p = source('real.conf', 'r');
      symlinkSync(p, join(root, 'link.conf'));
      expect(text(reader({ uids: [0] }).readSource(join(root, 'link.conf')))).toBe('r');
      chmodSync(p, 0o666);
      expect(error(reader({ uids: [0] }).readSource(join(root, 'link.conf')))).toMatch(/writable by/);
    });
  });

  describe('secretDigest', () => {
    it('is hmac-sha256: and 64 hex digits, equal for equal values, different for different ones', () => {
      const r = reader();
      const a = r.secretDigest(Buffer.from(VALUE));
      expect(a).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(r.secretDigest(Buffer.from(VALUE))).toBe(a);
      expect(r.secretDigest(Buffer.from(OTHER))).not.toBe(a);
      expect(r.secretDigest(Buffer.alloc(0))).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    });

    it('is not the plain sha256 of the value, but its HMAC under the key file', () => {
      const d = reader().secretDigest(Buffer.from(VALUE));
      const plain = createHash('sha256').update(VALUE).digest('hex');
      expect(d).not.toContain(plain);
      const key = readFileSync(secretKeyPath(dataDir));
      expect(d).toBe(`hmac-sha256:${createHmac('sha256', key).update(VALUE).digest('hex')}`);
    });

    it('makes the key file <dataDir>/secret.key of 32 bytes, mode 0600, on first use, and reuses it', () => {
      expect(secretKeyPath(dataDir)).toBe(join(dataDir, 'secret.key'));
      expect(existsSync(dataDir)).toBe(false);
      const first = reader().secretDigest(Buffer.from(VALUE));
      const st = statSync(secretKeyPath(dataDir));
      expect(st.isFile()).toBe(true);
      expect(st.mode & 0o7777).toBe(0o600);
      expect(st.uid).toBe(0);
      expect(st.size).toBe(32);
      expect(statSync(dataDir).mode & 0o077).toBe(0);
      const key = readFileSync(secretKeyPath(dataDir));
      // Another reader (another pass, another process) of the same data dir agrees.
      expect(hostContentReader({ dataDir, secretsDir: join(root, 'elsewhere') }).secretDigest(Buffer.from(VALUE))).toBe(first);
      expect(readFileSync(secretKeyPath(dataDir)).equals(key)).toBe(true);
    });

    it('differs between two data dirs (two keys) for one value', () => {
      const other = join(root, 'data2');
      const a = reader().secretDigest(Buffer.from(VALUE));
      const b = hostContentReader({ dataDir: other, secretsDir }).secretDigest(Buffer.from(VALUE));
      expect(a).not.toBe(b);
      expect(readFileSync(secretKeyPath(dataDir)).equals(readFileSync(secretKeyPath(other)))).toBe(false);
    });

    it('uses an existing key file of 32 bytes as it is', () => {
      mkdirSync(dataDir, { mode: 0o700 });
      const key = Buffer.alloc(32, 7);
      writeFileSync(secretKeyPath(dataDir), key, { mode: 0o600 });
      expect(reader().secretDigest(Buffer.from(VALUE))).toBe(`hmac-sha256:${createHmac('sha256', key).update(VALUE).digest('hex')}`);
    });

    it('refuses a key file of another length rather than replacing it (every digest would change)', () => {
      mkdirSync(dataDir, { mode: 0o700 });
      writeFileSync(secretKeyPath(dataDir), Buffer.alloc(31, 1), { mode: 0o600 });
      expect(() => reader().secretDigest(Buffer.from(VALUE))).toThrow(/31 bytes, not 32/);
      expect(readFileSync(secretKeyPath(dataDir)).length).toBe(31);
    });

    it('makes the key even when a temp file of a crashed earlier process with the same pid was left behind', () => {
      mkdirSync(dataDir, { mode: 0o700 });
      writeFileSync(`${secretKeyPath(dataDir)}.${process.pid}.tmp`, 'half-written', { mode: 0o600 });
      expect(reader().secretDigest(Buffer.from(VALUE))).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
      expect(readFileSync(secretKeyPath(dataDir)).length).toBe(32);
    });
  });
});
