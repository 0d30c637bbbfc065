import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ImageError } from '../../../reconciler/image/errors.js';
import { DEFAULT_AUTH_FILES, loadCredentials, normalizeAuthKey } from '../../../reconciler/image/registry/credentials.js';

const b64 = (s: string): string => Buffer.from(s).toString('base64');

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pocker-creds-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

function refusal(files: string[]): ImageError {
  try {
    loadCredentials(files);
  } catch (e) {
    expect(e).toBeInstanceOf(ImageError);
    return e as ImageError;
  }
  throw new Error('loadCredentials did not throw');
}

describe('loadCredentials', () => {
  it('reads "auth" (base64 user:password) and username/password entries', () => {
    const f = file('auth.json', {
      auths: {
        '127.0.0.1:5000': { auth: b64('alice:s3cret:with:colons') },
        'ghcr.io': { username: 'bob', password: 'pw' },
      },
    });
    const store = loadCredentials([f]);
    expect(store.get('127.0.0.1:5000')).toEqual({ username: 'alice', password: 's3cret:with:colons' });
    expect(store.get('ghcr.io')).toEqual({ username: 'bob', password: 'pw' });
    expect(store.source('ghcr.io')).toBe(f);
    expect(store.get('quay.io')).toBeNull();
    expect(store.source('quay.io')).toBeNull();
    expect(store.files).toEqual([f]);
  });

  it('normalizes keys: schemes, the /v1/ path, Docker Hub aliases, case', () => {
    const f = file('config.json', {
      auths: {
        'https://index.docker.io/v1/': { auth: b64('hub:1') },
        'https://Registry.Example:5000': { auth: b64('ex:2') },
        'http://plain.local/': { auth: b64('pl:3') },
      },
    });
    const store = loadCredentials([f]);
    expect(store.get('docker.io')?.username).toBe('hub');
    expect(store.get('registry.example:5000')?.username).toBe('ex');
    expect(store.get('plain.local')?.username).toBe('pl');
    expect(normalizeAuthKey('registry-1.docker.io')).toBe('docker.io');
    expect(normalizeAuthKey('quay.io/team/')).toBe('quay.io/team');
  });

  it('prefers a namespace entry for a repository under it', () => {
    const f = file('auth.json', { auths: { 'quay.io': { auth: b64('all:1') }, 'quay.io/team': { auth: b64('team:2') } } });
    const store = loadCredentials([f]);
    expect(store.get('quay.io', 'team/app')?.username).toBe('team');
    expect(store.get('quay.io', 'other/app')?.username).toBe('all');
    expect(store.get('quay.io')?.username).toBe('all');
  });

  it('reads files in order, the first with an entry for a registry wins, missing files are skipped', () => {
    const a = file('a.json', { auths: { 'reg.example': { auth: b64('first:1') } } });
    const b = file('b.json', { auths: { 'reg.example': { auth: b64('second:2') }, 'other.example': { auth: b64('other:3') } } });
    const store = loadCredentials([join(dir, 'missing.json'), join(dir, 'nodir', 'x.json'), a, b]);
    expect(store.get('reg.example')?.username).toBe('first');
    expect(store.source('reg.example')).toBe(a);
    expect(store.get('other.example')?.username).toBe('other');
    expect(store.source('other.example')).toBe(b);
  });

  it('skips entries without a password (credential helpers, identity tokens) and files without auths', () => {
    const a = file('a.json', { credsStore: 'desktop', auths: { 'reg.example': {}, 'tok.example': { identitytoken: 'x' } } });
    const b = file('b.json', { credsStore: 'desktop' });
    const store = loadCredentials([a, b]);
    expect(store.get('reg.example')).toBeNull();
    expect(store.get('tok.example')).toBeNull();
  });

  it('refuses an invalid or unreadable file, naming it and never the secret', () => {
    const cases: Array<[string, RegExp]> = [
      [file('bad.json', '{not json'), /is not valid JSON/],
      [file('array.json', '[]'), /is not a JSON object/],
      [file('auths.json', { auths: [] }), /"auths" is not an object/],
      [file('entry.json', { auths: { 'r.example': 'x' } }), /entry "r.example" is not an object/],
      [file('nocolon.json', { auths: { 'r.example': { auth: b64('topsecretvalue') } } }), /does not decode to "user:password"/],
      [file('notb64.json', { auths: { 'r.example': { auth: 'topsecret value!' } } }), /"auth" is not base64/],
      [file('half.json', { auths: { 'r.example': { username: 'u' } } }), /must both be strings/],
    ];
    for (const [path, why] of cases) {
      const e = refusal([path]);
      expect(e.code).toBe('REGISTRY_AUTH');
      expect(e.message).toContain(path);
      expect(e.message).toMatch(why);
      expect(e.message).not.toContain('topsecret');
      expect(e.details.path).toBe(path);
    }
    const asDir = join(dir, 'adir.json');
    mkdirSync(asDir);
    const e = refusal([asDir]);
    expect(e.message).toContain(asDir);
    expect(e.message).toMatch(/cannot be read/);
  });
});

describe('DEFAULT_AUTH_FILES', () => {
  const saved = { ...process.env };
  afterEach(() => {
    for (const k of ['XDG_RUNTIME_DIR', 'HOME', 'DOCKER_CONFIG']) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('is /etc/pocker, the containers auth.json of XDG_RUNTIME_DIR, then Docker config.json', () => {
    process.env.XDG_RUNTIME_DIR = '/run/user/1000';
    process.env.HOME = '/home/u';
    delete process.env.DOCKER_CONFIG;
    expect(DEFAULT_AUTH_FILES()).toEqual(['/etc/pocker/auth.json', '/run/user/1000/containers/auth.json', '/home/u/.docker/config.json']);
    delete process.env.XDG_RUNTIME_DIR;
    process.env.DOCKER_CONFIG = '/etc/docker-cfg';
    expect(DEFAULT_AUTH_FILES()).toEqual(['/etc/pocker/auth.json', '/etc/docker-cfg/config.json']);
  });
});
