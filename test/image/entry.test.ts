import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { planEntry, normalizeEntryPath } from '../../reconciler/image/entry.js';
import { ImageError } from '../../reconciler/image/errors.js';
import { chooseRef } from '../../reconciler/image/import.js';
import { choosePlatform, hostArchitecture, selectEntry, type Descriptor } from '../../reconciler/image/layout.js';
import { completeRef, isRef, REF_PATTERN } from '../../reconciler/image/ref.js';
import { whiteoutOf } from '../../reconciler/image/whiteout.js';
import { packageRoot } from '../../reconciler/native.js';

const file = (path: string, extra: Record<string, unknown> = {}) => ({ path, type: 'File', mode: 0o644, uid: 0, gid: 0, ...extra });
const D = (n: number): string => `sha256:${String(n).repeat(64).slice(0, 64)}`;

describe('layer entry paths', () => {
  it('normalizes ./ and empty parts', () => {
    expect(normalizeEntryPath('./a/b')).toEqual({ path: 'a/b' });
    expect(normalizeEntryPath('a//b/./c/')).toEqual({ path: 'a/b/c' });
    expect(normalizeEntryPath('./')).toEqual({ path: '' });
  });

  it.each([
    ['/etc/passwd', 'absolute path'],
    ['../x', 'path contains ".."'],
    ['a/../../x', 'path contains ".."'],
    ['a/..', 'path contains ".."'],
    ['a\0b', 'NUL'],
  ])('refuses %j', (p, why) => {
    expect((normalizeEntryPath(p) as { refused: string }).refused).toContain(why);
  });
});

describe('planEntry', () => {
  it('maps files, directories, symlinks, hard links and FIFOs with their metadata', () => {
    expect(planEntry(file('./usr/bin/x', { mode: 0o104755, uid: 5, gid: 6, mtime: new Date(1000) }))).toEqual({
      kind: 'file',
      path: 'usr/bin/x',
      meta: { mode: 0o4755, uid: 5, gid: 6, mtime: new Date(1000) },
    });
    expect(planEntry({ path: 'etc/', type: 'Directory', mode: 0o755 })).toMatchObject({ kind: 'dir', path: 'etc' });
    expect(planEntry({ path: './', type: 'Directory', mode: 0o755 })).toMatchObject({ kind: 'dir', path: '' });
    expect(planEntry({ path: 'bin/sh', type: 'SymbolicLink', linkpath: '/bin/busybox' })).toMatchObject({
      kind: 'symlink',
      path: 'bin/sh',
      target: '/bin/busybox',
    });
    expect(planEntry({ path: 'a/hl', type: 'Link', linkpath: './a/f' })).toEqual({ kind: 'hardlink', path: 'a/hl', target: 'a/f' });
    expect(planEntry({ path: 'run/fifo', type: 'FIFO', mode: 0o600 })).toMatchObject({ kind: 'fifo', path: 'run/fifo' });
  });

  it('keeps symlink targets as written (they resolve inside the container) but never follows them', () => {
    expect(planEntry({ path: 'escape', type: 'SymbolicLink', linkpath: '../../../../etc' })).toMatchObject({
      kind: 'symlink',
      target: '../../../../etc',
    });
  });

  it.each([
    [{ path: 'dev/sda', type: 'BlockDevice' }, /block device node/],
    [{ path: 'dev/null', type: 'CharacterDevice' }, /character device node/],
    [{ path: 'x', type: 'Link', linkpath: '../../etc/shadow' }, /hard link target .*"\.\."/],
    [{ path: 'x', type: 'Link', linkpath: '/etc/shadow' }, /hard link target .*absolute path/],
    [{ path: 'x', type: 'Link', linkpath: 'x' }, /hard link to/],
    [{ path: 'x', type: 'SparseFile' }, /unsupported entry type SparseFile/],
    [{ path: '/x', type: 'File' }, /absolute path/],
    [{ path: '', type: 'File' }, /layer root/],
    [{ path: 'x', type: 'File', uid: -1 }, /uid -1 is out of range/],
  ])('refuses %j', (h, why) => {
    const r = planEntry(h);
    expect('refused' in r && r.refused).toMatch(why);
  });
});

describe('whiteouts', () => {
  it('maps OCI whiteouts to their overlayfs form', () => {
    expect(whiteoutOf('etc/.wh.motd')).toEqual({ kind: 'whiteout', path: 'etc/motd' });
    expect(whiteoutOf('.wh.tmp')).toEqual({ kind: 'whiteout', path: 'tmp' });
    expect(whiteoutOf('var/cache/.wh..wh..opq')).toEqual({ kind: 'opaque', dir: 'var/cache' });
    expect(whiteoutOf('.wh..wh.plnk')).toEqual({ kind: 'ignore' });
    expect(whiteoutOf('etc/motd')).toBeNull();
    expect(whiteoutOf('etc/x.wh.y')).toBeNull();
    expect(whiteoutOf('etc/.wh.')).toMatchObject({ kind: 'invalid' });
  });

  it('plans whiteout entries of any file type, refuses them on directories and at the layer root', () => {
    expect(planEntry(file('a/.wh.b'))).toEqual({ kind: 'whiteout', path: 'a/b' });
    expect(planEntry(file('a/.wh..wh..opq'))).toEqual({ kind: 'opaque', dir: 'a' });
    expect(planEntry({ path: 'a/.wh.b', type: 'Directory' })).toEqual({ refused: expect.stringMatching(/whiteout name/) });
    expect(planEntry(file('.wh..wh..opq'))).toEqual({ refused: expect.stringMatching(/layer root/) });
    expect(planEntry(file('a/.wh.'))).toEqual({ refused: expect.stringMatching(/names no file/) });
    expect(planEntry(file('a/.wh..wh.plnk'))).toEqual({ kind: 'ignore', path: 'a/.wh..wh.plnk' });
  });
});

describe('image references', () => {
  it('accepts NAME:TAG and completes a bare NAME', () => {
    for (const r of ['busybox:1.36', 'library/busybox:latest', 'example.com/team/app:v2', 'localhost:5000/app:1', 'a_b__c-d:X.y_z'])
      expect(isRef(r), r).toBe(true);
    for (const r of ['busybox', 'Busybox:1', 'busybox:', ':tag', 'a//b:1', 'busybox@sha256:00', 'a:b:c']) expect(isRef(r), r).toBe(false);
    expect(completeRef('busybox')).toEqual({ ref: 'busybox:latest' });
    expect(completeRef('busybox', '1.36')).toEqual({ ref: 'busybox:1.36' });
    expect(completeRef('busybox:musl')).toEqual({ ref: 'busybox:musl' });
    expect(completeRef('Bad Name')).toHaveProperty('error');
  });

  it('is the pattern the spec schema checks image.ref with', () => {
    const schema = JSON.parse(readFileSync(join(packageRoot(), 'schema', 'container.v1.schema.json'), 'utf8'));
    const object = schema.properties.image.oneOf.find((s: { type?: string }) => s.type === 'object');
    expect(object.properties.ref.pattern).toBe(REF_PATTERN);
  });

  it('chooses the reference from --name, then the annotations', () => {
    const entry = (ann: Record<string, string>): Descriptor => ({ digest: D(1), size: 1, annotations: ann });
    expect(chooseRef(entry({ 'org.opencontainers.image.ref.name': 'busybox:1.36' }), undefined, 'x')).toBe('busybox:1.36');
    expect(
      chooseRef(
        entry({ 'io.containerd.image.name': 'docker.io/library/busybox:1.36', 'org.opencontainers.image.ref.name': '1.36' }),
        undefined,
        'x',
      ),
    ).toBe('docker.io/library/busybox:1.36');
    expect(chooseRef(entry({ 'org.opencontainers.image.ref.name': '1.36' }), 'busybox', 'x')).toBe('busybox:1.36');
    expect(chooseRef(entry({ 'org.opencontainers.image.ref.name': '1.36' }), 'mine:v9', 'x')).toBe('mine:v9');
    expect(chooseRef(entry({}), 'mine', 'x')).toBe('mine:latest');
    expect(() => chooseRef(entry({ 'org.opencontainers.image.ref.name': '1.36' }), undefined, '/tmp/bb')).toThrow(
      /only by the tag "1\.36".*--name NAME/,
    );
    expect(() => chooseRef(entry({}), undefined, '/tmp/bb')).toThrow(/no reference name.*--name NAME:TAG/);
    expect(() => chooseRef(entry({}), 'Not A Ref', '/tmp/bb')).toThrow(/--name: "Not A Ref" is not an image reference/);
  });
});

describe('choosing a manifest', () => {
  const e = (n: number, name?: string): Descriptor => ({
    digest: D(n),
    size: 1,
    ...(name && { annotations: { 'org.opencontainers.image.ref.name': name } }),
  });

  it('takes the only entry, or the one --select names (by annotation or digest)', () => {
    expect(selectEntry([e(1, 'a:1')], 'img').digest).toBe(D(1));
    expect(selectEntry([e(1, 'a:1'), e(2, 'b:2')], 'img', 'b:2').digest).toBe(D(2));
    expect(selectEntry([e(1, 'a:1'), e(2, 'b:2')], 'img', D(1)).digest).toBe(D(1));
  });

  it('refuses to guess between several entries, naming them', () => {
    let err: unknown;
    try {
      selectEntry([e(1, 'a:1'), e(2, 'b:2')], '/tmp/layout');
    } catch (x) {
      err = x;
    }
    expect(err).toBeInstanceOf(ImageError);
    expect((err as ImageError).code).toBe('IMAGE_AMBIGUOUS');
    expect((err as ImageError).message).toMatch(/lists 2 images \(a:1, b:2\).*--select/);
    expect(() => selectEntry([e(1, 'a:1')], 'img', 'c:3')).toThrow(/no entry named "c:3" \(it has: a:1\)/);
  });

  it('resolves a multi-platform index to linux on this architecture', () => {
    const arch = hostArchitecture();
    const other = arch === 'amd64' ? 'arm64' : 'amd64';
    const ms: Descriptor[] = [
      { digest: D(1), size: 1, platform: { os: 'linux', architecture: other } },
      { digest: D(2), size: 1, platform: { os: 'linux', architecture: arch } },
      { digest: D(3), size: 1, platform: { os: 'unknown', architecture: 'unknown' } },
    ];
    expect(choosePlatform(ms, 'img', D(9)).digest).toBe(D(2));
    expect(() => choosePlatform([ms[0]!], 'img', D(9))).toThrow(new RegExp(`no manifest for linux/${arch}`));
  });
});
