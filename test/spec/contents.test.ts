import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { contentDigest, resolveContents, sourcePath, type ContentReader } from '../../reconciler/spec/contents.js';
import { MAX_CONTENT_BYTES } from '../../reconciler/spec/files.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { FileContents, type DesiredContainer } from '../../reconciler/spec/types.js';
import { desired, specObj } from '../helpers/specs.js';

/** A content reader that answers from maps and records every call. */
class FakeReader implements ContentReader {
  readonly sourceReads: string[] = [];
  readonly secretReads: string[] = [];
  readonly digested: Buffer[] = [];
  constructor(
    readonly sources: Record<string, Buffer | string> = {},
    readonly secrets: Record<string, Buffer | string> = {},
    readonly failures: Record<string, string> = {},
  ) {}
  readSource(path: string): { data: Buffer } | { error: string } {
    this.sourceReads.push(path);
    if (this.failures[path] !== undefined) return { error: this.failures[path]! };
    const v = this.sources[path];
    return v === undefined ? { error: 'ENOENT' } : { data: Buffer.from(v) };
  }
  readSecret(name: string): { data: Buffer } | { error: string } {
    this.secretReads.push(name);
    if (this.failures[`secret:${name}`] !== undefined) return { error: this.failures[`secret:${name}`]! };
    const v = this.secrets[name];
    return v === undefined ? { error: `${name}: ENOENT` } : { data: Buffer.from(v) };
  }
  secretDigest(data: Buffer): string {
    this.digested.push(data);
    return `hmac-sha256:${createHash('sha256').update('fake-key').update(data).digest('hex')}`;
  }
}

const sha = (s: string | Buffer): string => `sha256:${createHash('sha256').update(s).digest('hex')}`;

const SOURCE_BYTES = 'source-file-bytes-7f3a';
const SECRET_VALUE = 'hunter2-secret-value-91c4';
const OTHER_SECRET = 'other-secret-value-55aa';

/** A spec with an inline file, a relative source, an absolute source and two secrets, from spec dir /specs. */
function fullSpec(): DesiredContainer {
  return desired(
    specObj('web', {
      files: [
        { target: '/etc/inline.conf', content: 'inline-content-1' },
        { target: '/etc/rel.conf', source: 'conf/rel.conf', mode: '0600' },
        { target: '/etc/abs.conf', source: '/srv/abs.conf' },
      ],
      secrets: [{ name: 'db' }, { name: 'api', target: '/etc/api.key' }],
    }),
  );
}

function fullReader(): FakeReader {
  return new FakeReader({ '/specs/conf/rel.conf': SOURCE_BYTES, '/srv/abs.conf': 'abs-bytes' }, { db: SECRET_VALUE, api: OTHER_SECRET });
}

describe('contentDigest and sourcePath', () => {
  it('contentDigest is sha256: and the hex sha256 of the bytes', () => {
    expect(contentDigest(Buffer.from('abc'))).toBe('sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(contentDigest(Buffer.alloc(0))).toBe(sha(''));
    expect(contentDigest(Buffer.from('a'))).not.toBe(contentDigest(Buffer.from('b')));
  });

  it('sourcePath keeps an absolute source and resolves a relative one against the spec dir', () => {
    expect(sourcePath('/specs', '/srv/a.conf')).toBe('/srv/a.conf');
    expect(sourcePath('/specs', 'a.conf')).toBe('/specs/a.conf');
    expect(sourcePath('/specs', 'conf/a.conf')).toBe('/specs/conf/a.conf');
    expect(sourcePath('/specs/', './a.conf')).toBe('/specs/a.conf');
    expect(sourcePath('/etc/pocker/specs', '../shared/a.conf')).toBe('/etc/pocker/shared/a.conf');
  });
});

describe('resolveContents', () => {
  it('fills every digest and makes every content available by target', () => {
    const d = fullSpec();
    const reader = fullReader();
    const r = resolveContents(d, reader);
    expect(r.contentProblem).toBeUndefined();
    expect(r.spec.files.map((f) => [f.target, f.digest])).toEqual([
      ['/etc/inline.conf', sha('inline-content-1')],
      ['/etc/rel.conf', sha(SOURCE_BYTES)],
      ['/etc/abs.conf', sha('abs-bytes')],
    ]);
    expect(r.spec.secrets.map((s) => s.digest)).toEqual([
      reader.secretDigest(Buffer.from(SECRET_VALUE)),
      reader.secretDigest(Buffer.from(OTHER_SECRET)),
    ]);
    expect(r.contents).toBeInstanceOf(FileContents);
    expect(r.contents!.get('/etc/inline.conf')!.toString()).toBe('inline-content-1');
    expect(r.contents!.get('/etc/rel.conf')!.toString()).toBe(SOURCE_BYTES);
    expect(r.contents!.get('/etc/abs.conf')!.toString()).toBe('abs-bytes');
    expect(r.contents!.get('/run/secrets/db')!.toString()).toBe(SECRET_VALUE);
    expect(r.contents!.get('/etc/api.key')!.toString()).toBe(OTHER_SECRET);
    expect(r.contents!.get('/nothing')).toBeUndefined();
  });

  it('reads relative sources against the spec dir, absolute ones as written, inline ones not at all, secrets by name', () => {
    const reader = fullReader();
    resolveContents(fullSpec(), reader);
    expect(reader.sourceReads).toEqual(['/specs/conf/rel.conf', '/srv/abs.conf']);
    expect(reader.secretReads).toEqual(['db', 'api']);
  });

  it('resolves relative sources against desired.source.dir, whatever it is', () => {
    const d = desired(specObj('web', { files: [{ target: '/a', source: 'a.conf' }] }), '/other/dir');
    const reader = new FakeReader({ '/other/dir/a.conf': 'x' });
    expect(resolveContents(d, reader).spec.files[0]!.digest).toBe(sha('x'));
    expect(reader.sourceReads).toEqual(['/other/dir/a.conf']);
  });

  it('uses the reader secret digest, never a plain sha256, for secrets', () => {
    const r = resolveContents(fullSpec(), fullReader());
    expect(r.spec.secrets[0]!.digest).toMatch(/^hmac-sha256:[0-9a-f]{64}$/);
    expect(r.spec.secrets[0]!.digest).not.toContain(sha(SECRET_VALUE).slice('sha256:'.length));
  });

  it('changes neither the hash, the user spec nor the source of the desired container (and does not mutate it)', () => {
    const d = fullSpec();
    const before = JSON.stringify(d);
    const a = resolveContents(d, fullReader());
    const b = resolveContents(d, new FakeReader({ '/specs/conf/rel.conf': 'other', '/srv/abs.conf': 'other' }, { db: 'x', api: 'y' }));
    expect(a.hash).toBe(d.hash);
    expect(b.hash).toBe(d.hash);
    expect(a.user).toEqual(d.user);
    expect(a.source).toEqual(d.source);
    expect(a.spec.files[1]!.digest).not.toBe(b.spec.files[1]!.digest);
    expect(a.spec.secrets[0]!.digest).not.toBe(b.spec.secrets[0]!.digest);
    expect(JSON.stringify(d)).toBe(before);
    expect(d.spec.files.every((f) => f.digest === '')).toBe(true);
    expect(d.contents).toBeUndefined();
  });

  it('keeps everything but the digests of the effective spec', () => {
    const d = fullSpec();
    const r = resolveContents(d, fullReader());
    const blank = <T extends { digest: string }>(xs: T[]): T[] => xs.map((x) => ({ ...x, digest: '' }));
    expect({ ...r.spec, files: blank(r.spec.files), secrets: blank(r.spec.secrets) }).toEqual(d.spec);
  });

  it('returns a desired container without files or secrets as it is, asking the reader nothing', () => {
    const d = desired(specObj('web'));
    const reader = new FakeReader();
    expect(resolveContents(d, reader)).toBe(d);
    expect(reader.sourceReads).toEqual([]);
    expect(reader.secretReads).toEqual([]);
  });

  it('gives a source that cannot be read as a contentProblem naming the entry, target, path and why', () => {
    const d = fullSpec();
    const reader = new FakeReader(
      { '/srv/abs.conf': 'abs-bytes' },
      { db: SECRET_VALUE, api: OTHER_SECRET },
      { '/specs/conf/rel.conf': 'EACCES' },
    );
    const r = resolveContents(d, reader);
    expect(r.contentProblem).toBe('files[1] (/etc/rel.conf): source /specs/conf/rel.conf: EACCES');
    expect(r.contents).toBeUndefined();
    expect([...r.spec.files, ...r.spec.secrets].every((e) => e.digest === '')).toBe(true);
    expect(r.hash).toBe(d.hash);
  });

  it('gives a secret that cannot be read as a contentProblem without the value of any secret', () => {
    const d = fullSpec();
    const reader = new FakeReader(
      { '/specs/conf/rel.conf': SOURCE_BYTES, '/srv/abs.conf': 'abs-bytes' },
      { db: SECRET_VALUE },
      { 'secret:api': 'refusing /etc/pocker/secrets/api: mode 644 lets others in; chmod go=' },
    );
    const r = resolveContents(d, reader);
    expect(r.contentProblem).toBe('secrets[1] (api): refusing /etc/pocker/secrets/api: mode 644 lets others in; chmod go=');
    expect(r.contentProblem).not.toContain(SECRET_VALUE);
    expect(r.contentProblem).not.toContain(SOURCE_BYTES);
    expect(r.contents).toBeUndefined();
    // Not even the digest of the secret that was read is kept.
    expect(r.spec.secrets.every((s) => s.digest === '')).toBe(true);
    const shown = `${JSON.stringify(r)}\n${inspect(r, { depth: Infinity })}`;
    expect(shown).not.toContain(SECRET_VALUE);
    expect(shown).not.toContain(SOURCE_BYTES);
  });

  it('names every problem at once, joined by "; "', () => {
    const d = fullSpec();
    const r = resolveContents(d, new FakeReader({}, { api: OTHER_SECRET }));
    expect(r.contentProblem).toBe(
      'files[1] (/etc/rel.conf): source /specs/conf/rel.conf: ENOENT; files[2] (/etc/abs.conf): source /srv/abs.conf: ENOENT; secrets[0] (db): db: ENOENT',
    );
  });

  it('refuses a source of more than 1 MiB, and takes one of exactly 1 MiB', () => {
    const d = desired(specObj('web', { files: [{ target: '/big', source: '/srv/big' }] }));
    const over = resolveContents(d, new FakeReader({ '/srv/big': Buffer.alloc(MAX_CONTENT_BYTES + 1, 0x61) }));
    expect(over.contentProblem).toBe(`files[0] (/big): ${MAX_CONTENT_BYTES + 1} bytes, more than ${MAX_CONTENT_BYTES}`);
    expect(over.contents).toBeUndefined();
    const exact = resolveContents(d, new FakeReader({ '/srv/big': Buffer.alloc(MAX_CONTENT_BYTES, 0x61) }));
    expect(exact.contentProblem).toBeUndefined();
    expect(exact.contents!.get('/big')!.length).toBe(MAX_CONTENT_BYTES);
  });

  it('refuses an inline content of more than 1 MiB of UTF-8 (fewer characters than the schema limit)', () => {
    // A spec file is at most 1 MiB itself, so the desired container is made by hand here.
    const content = '€'.repeat(400_000); // 1.2 MB of UTF-8 in 400k characters
    const small = desired(specObj('web', { files: [{ target: '/big', content: 'x' }] }));
    const d: DesiredContainer = { ...small, user: { ...small.user, files: [{ target: '/big', content }] } };
    const r = resolveContents(d, new FakeReader());
    expect(r.contentProblem).toBe(`files[0] (/big): ${Buffer.byteLength(content)} bytes, more than ${MAX_CONTENT_BYTES}`);
  });

  it('refuses a secret of more than 1 MiB whatever the reader', () => {
    const d = desired(specObj('web', { secrets: [{ name: 'big' }] }));
    const r = resolveContents(d, new FakeReader({}, { big: Buffer.alloc(MAX_CONTENT_BYTES + 1, 0x61) }));
    expect(r.contentProblem).toMatch(/^secrets\[0\] \(big\): .*more than 1048576/);
    expect(r.contents).toBeUndefined();
  });

  it('takes binary and empty contents byte for byte', () => {
    const bin = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, 0x0a]);
    const d = desired(specObj('web', { files: [{ target: '/bin', source: '/srv/bin' }], secrets: [{ name: 'empty' }] }));
    const r = resolveContents(d, new FakeReader({ '/srv/bin': bin }, { empty: Buffer.alloc(0) }));
    expect(r.contentProblem).toBeUndefined();
    expect(r.contents!.get('/bin')!.equals(bin)).toBe(true);
    expect(r.spec.files[0]!.digest).toBe(sha(bin));
    expect(r.contents!.get('/run/secrets/empty')!.length).toBe(0);
  });

  it('never shows a source content or a secret value in JSON.stringify or util.inspect', () => {
    const r = resolveContents(fullSpec(), fullReader());
    const texts = [
      JSON.stringify(r),
      JSON.stringify(r, null, 2),
      inspect(r, { depth: Infinity }),
      inspect(r, { depth: Infinity, showHidden: true }),
      inspect(r, { depth: Infinity, customInspect: false }),
      String(r.contents),
      `${inspect(r.contents)}`,
    ];
    for (const t of texts) {
      expect(t).not.toContain(SOURCE_BYTES);
      expect(t).not.toContain(SECRET_VALUE);
      expect(t).not.toContain(OTHER_SECRET);
      expect(t).not.toContain('abs-bytes');
      expect(t).not.toContain(Buffer.from(SECRET_VALUE).toString('base64'));
      expect(t).not.toContain(Buffer.from(SECRET_VALUE).toString('hex'));
      expect(t).not.toContain('"type":"Buffer"');
    }
    expect(JSON.stringify(r)).toContain('"contents":"[5 contents withheld]"');
    expect(inspect(r, { depth: Infinity })).toContain('FileContents [5 withheld]');
  });

  it('keeps the inline content in the user spec only (it is part of the spec file and of the hash), never in the effective spec', () => {
    const r = resolveContents(fullSpec(), fullReader());
    expect(JSON.stringify(r.spec)).not.toContain('inline-content-1');
    expect(r.user.files![0]!.content).toBe('inline-content-1');
  });
});

describe('FileContents', () => {
  it('holds bytes by target and withholds them from JSON and inspect', () => {
    const c = new FileContents();
    c.set('/a', Buffer.from('aaa-secret'));
    c.set('/b', Buffer.from('bbb'));
    c.set('/a', Buffer.from('aaa-newer'));
    expect(c.get('/a')!.toString()).toBe('aaa-newer');
    expect(JSON.stringify({ c })).toBe('{"c":"[2 contents withheld]"}');
    expect(inspect({ c }, { depth: Infinity })).toBe('{ c: FileContents [2 withheld] }');
    expect(inspect(c, { showHidden: true, customInspect: false })).not.toContain('aaa');
    expect(Object.keys(c)).toEqual([]);
    expect({ ...c }).toEqual({});
  });
});

describe('loadSpecDir with a content reader', () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it('reads relative sources against the spec dir as given and fills the digests of the desired containers', () => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-contents-'));
    mkdirSync(join(dir, 'conf'));
    writeFileSync(join(dir, 'conf', 'app.conf'), 'ignored: the reader is fake');
    writeFileSync(
      join(dir, 'web.yaml'),
      'image: {layers: [/l]}\ncommand: [sleep, "1"]\nfiles: [{target: /etc/app.conf, source: conf/app.conf}]\nsecrets: [{name: db}]\n',
    );
    const reader = new FakeReader({ [join(dir, 'conf', 'app.conf')]: 'from-reader' }, { db: 'pw' });
    const load = loadSpecDir(dir, undefined, undefined, { images: () => null, contents: reader });
    expect(load.errors).toEqual([]);
    expect(reader.sourceReads).toEqual([join(dir, 'conf', 'app.conf')]);
    const d = load.desired[0]!;
    expect(d.spec.files[0]!.digest).toBe(sha('from-reader'));
    expect(d.spec.secrets[0]!.digest).toMatch(/^hmac-sha256:/);
    expect(d.contents!.get('/run/secrets/db')!.toString()).toBe('pw');
  });

  it('keeps a container whose source is missing as a desired container with a contentProblem, not a spec error', () => {
    dir = mkdtempSync(join(tmpdir(), 'pocker-contents-'));
    writeFileSync(
      join(dir, 'web.yaml'),
      'image: {layers: [/l]}\ncommand: [sleep, "1"]\nfiles: [{target: /etc/app.conf, source: gone.conf}]\n',
    );
    writeFileSync(join(dir, 'ok.yaml'), 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n');
    const load = loadSpecDir(dir, undefined, undefined, { images: () => null, contents: new FakeReader() });
    expect(load.errors).toEqual([]);
    expect(load.failedFiles.size).toBe(0);
    expect(load.desired.map((d) => [d.spec.name, d.contentProblem])).toEqual([
      ['ok', undefined],
      ['web', `files[0] (/etc/app.conf): source ${join(dir, 'gone.conf')}: ENOENT`],
    ]);
  });
});
