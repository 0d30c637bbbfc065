import { appendFileSync, existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { ImageError } from '../../reconciler/image/errors.js';
import { importImage, type ImportOptions } from '../../reconciler/image/import.js';
import { listImages, removeImage } from '../../reconciler/image/remove.js';
import { imageStorePaths, layerTree, readRefs, storedLayers } from '../../reconciler/image/store.js';
import { OVERLAY_OPAQUE_XATTR } from '../../reconciler/image/whiteout.js';
import { native } from '../../reconciler/native.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';
import { makeTar, writeLayout, type TarItem, type TestLayer } from './oci.js';

const REF = 'test/image:v1';

/** The busybox test layer as a tar (built once per file). */
let busyboxTar: Buffer | undefined;
function busybox(inst: TestInstance): Buffer {
  if (!busyboxTar) {
    const file = join(inst.root, 'busybox.tar');
    createTar({ cwd: inst.layer, sync: true, file, portable: true }, ['.']);
    busyboxTar = readFileSync(file);
  }
  return busyboxTar;
}

const BASE: TarItem[] = [
  { path: 'data/', type: 'dir' },
  { path: 'data/keep.txt', data: 'keep\n' },
  { path: 'data/gone.txt', data: 'gone\n' },
  { path: 'data/old/', type: 'dir' },
  { path: 'data/old/a.txt', data: 'a\n' },
  { path: 'data/old/sub/', type: 'dir' },
  { path: 'data/old/sub/b.txt', data: 'b\n' },
  { path: 'data/linked', type: 'link', linkpath: 'data/keep.txt' },
  { path: 'data/sym', type: 'symlink', linkpath: 'keep.txt' },
  { path: 'data/suid', data: '#!/bin/sh\n', mode: 0o4755, uid: 1000, gid: 1000 },
];

const top = (extra: TarItem[] = []): TarItem[] => [
  { path: 'data/.wh.gone.txt' },
  { path: 'data/old/', type: 'dir', mode: 0o750 },
  { path: 'data/old/.wh..wh..opq' },
  { path: 'data/old/new.txt', data: 'new\n' },
  { path: 'data/added.txt', data: 'added\n' },
  { path: 'data/.wh.never-there' },
  ...extra,
];

describeKernel('image store on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let paths: ReturnType<typeof imageStorePaths>;
  beforeEach(() => {
    inst = current();
    paths = imageStorePaths(inst.dirs.dataDir);
  });

  const layout = (name: string, layers: TestLayer[], annotations?: Record<string, string>) => {
    const dir = join(inst.root, name);
    return { dir, image: writeLayout(dir, layers, annotations) };
  };
  const doImport = (source: string, extra: Partial<ImportOptions> = {}) => importImage(inst.host, { source, dirs: inst.dirs, ...extra });

  /** Nothing of a failed import stays: no layer, no reference, no temporary directory. */
  const expectStoreEmpty = (): void => {
    expect(storedLayers(inst.host, paths)).toEqual([]);
    expect(readRefs(inst.host, paths).refs).toEqual({});
    expect(existsSync(paths.tmp) ? readdirSync(paths.tmp) : []).toEqual([]);
  };

  it('imports a layered image once per layer, runs it with whiteouts applied, recreates on a re-import, and removes it only when unused', async () => {
    const { dir } = layout('v1', [{ tar: busybox(inst), gzip: true }, { tar: makeTar(BASE), gzip: true }, { tar: makeTar(top()) }]);
    const t0 = performance.now();
    const r = await doImport(dir);
    const importMs = performance.now() - t0;
    console.log(
      `import of a ${r.layers.length}-layer image (${(r.size / 2 ** 20).toFixed(2)} MiB uncompressed; busybox layer ${r.layers[0]!.size} bytes) took ${importMs.toFixed(0)} ms: ${r.layers.map((l) => `${l.ms.toFixed(0)} ms`).join(', ')}`,
    );
    expect(r.ref).toBe(REF);
    expect(r.layers.map((l) => l.reused)).toEqual([false, false, false]);

    const topTree = layerTree(paths, r.layers[2]!.diffId);
    const wh = lstatSync(join(topTree, 'data', 'gone.txt'));
    expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
    expect(
      native()
        .lgetxattr(join(topTree, 'data', 'old'), OVERLAY_OPAQUE_XATTR)
        ?.toString(),
    ).toBe('y');
    expect(lstatSync(join(topTree, 'data', 'old')).mode & 0o7777).toBe(0o750);
    expect(existsSync(join(topTree, 'data', 'never-there'))).toBe(true);
    const baseTree = layerTree(paths, r.layers[1]!.diffId);
    expect(lstatSync(join(baseTree, 'data', 'linked')).ino).toBe(lstatSync(join(baseTree, 'data', 'keep.txt')).ino);
    expect(lstatSync(join(baseTree, 'data', 'suid'))).toMatchObject({ uid: 1000, gid: 1000, mode: 0o104755 });
    expect(lstatSync(join(baseTree, 'data', 'keep.txt')).mtimeMs).toBe(1_700_000_000_000);
    expect(lstatSync(join(baseTree, 'data', 'sym')).mtimeMs).toBe(1_700_000_000_000);
    expect(lstatSync(join(baseTree, 'data', 'old')).mtimeMs).toBe(1_700_000_000_000);
    expect(listImages(inst.host, inst.dirs.dataDir).map((i) => [i.ref, i.manifest, i.layers.length])).toEqual([[REF, r.manifest, 3]]);

    const again = await doImport(dir);
    expect(again.layers.map((l) => l.reused)).toEqual([true, true, true]);
    expect(again.replaced).toBeUndefined();

    const script =
      'find /data | sort; stat -c "%a %u %g %h %n" /data/suid /data/keep.txt; readlink /data/sym; cat /data/linked; echo END; exec sleep 3600';
    inst.writeSpec('img.yaml', { name: 'img', image: { ref: REF }, command: ['sh', '-c', script], stopGracePeriod: '1s' });
    const p1 = await inst.reconcile();
    expect(p1.ok, JSON.stringify([p1.load.errors, p1.results])).toBe(true);
    const log = await inst.waitForLog('img', /END/);
    expect(log.split('\n').slice(0, log.split('\n').indexOf('END'))).toEqual([
      '/data',
      '/data/added.txt',
      '/data/keep.txt',
      '/data/linked',
      '/data/old',
      '/data/old/new.txt',
      '/data/suid',
      '/data/sym',
      '4755 1000 1000 1 /data/suid',
      '644 0 0 2 /data/keep.txt',
      'keep.txt',
      'keep',
    ]);
    const pid = inst.pid('img');
    expect((await inst.reconcile()).results).toEqual([]);

    const v2 = layout('v2', [
      { tar: busybox(inst), gzip: true },
      { tar: makeTar(BASE), gzip: true },
      { tar: makeTar(top([{ path: 'data/v2.txt', data: 'v2\n' }])) },
    ]);
    const r2 = await doImport(v2.dir);
    expect(r2.replaced).toBe(r.manifest);
    expect(r2.layers.map((l) => l.reused)).toEqual([true, true, false]);
    const p2 = await inst.reconcile();
    expect(p2.results.map((x) => [x.kind, x.reason, x.ok])).toEqual([['recreate', 'changed: image; discards the writable layer', true]]);
    expect(inst.pid('img')).not.toBe(pid);
    expect(await inst.waitForLog('img', /END/)).toContain('/data/v2.txt');

    const inUse = await removeImage(inst.host, REF, inst.dirs).catch((e: unknown) => e);
    expect(inUse).toBeInstanceOf(ImageError);
    expect((inUse as ImageError).code).toBe('IMAGE_IN_USE');
    expect((inUse as ImageError).message).toMatch(/image test\/image:v1 is in use by container img/);
    expect(storedLayers(inst.host, paths)).toHaveLength(4);

    inst.removeSpec('img.yaml');
    expect((await inst.reconcile({ allowEmpty: true })).ok).toBe(true);
    const rm = await removeImage(inst.host, REF, inst.dirs);
    expect(rm.removedLayers).toHaveLength(4);
    expectStoreEmpty();
  });

  it('the watching controller recreates a container when its image reference is imported again, without waiting for a resync', async () => {
    const one = layout('w1', [{ tar: busybox(inst), gzip: true }, { tar: makeTar([{ path: 'version', data: 'one\n' }]) }]);
    await doImport(one.dir);
    inst.writeSpec('w.yaml', {
      name: 'w',
      image: { ref: REF },
      command: ['sh', '-c', 'cat /version; exec sleep 3600'],
      stopGracePeriod: '1s',
    });
    const ctl = new WatchController({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver, resyncMs: 600_000 });
    try {
      await ctl.start();
      await inst.waitForLog('w', /one/);
      const pid = inst.pid('w');
      const two = layout('w2', [{ tar: busybox(inst), gzip: true }, { tar: makeTar([{ path: 'version', data: 'two\n' }]) }]);
      await doImport(two.dir);
      await until(() => inst.runsAnotherPid('w', pid), 'w recreated on the new image', 10_000);
      await inst.waitForLog('w', /two/);
    } finally {
      await ctl.stop();
    }
    inst.removeSpec('w.yaml');
    expect((await inst.reconcile({ allowEmpty: true })).ok).toBe(true);
    await removeImage(inst.host, REF, inst.dirs);
    expectStoreEmpty();
  });

  it('imports from a tar archive of a layout, names it with --name, and clears what an interrupted import left', async () => {
    const { dir, image } = layout('small', [{ tar: makeTar([{ path: 'hello.txt', data: 'hi\n' }]), gzip: true }], {
      'org.opencontainers.image.ref.name': '2.0',
    });
    const archive = join(inst.root, 'small.tar');
    createTar({ cwd: dir, sync: true, file: archive, portable: true }, ['oci-layout', 'index.json', 'blobs']);
    const stale = join(paths.tmp, 'layer-1-dead', 'root');
    mkdirSync(stale, { recursive: true });
    writeFileSync(join(stale, 'half'), 'x');
    await expect(doImport(archive)).rejects.toThrow(/only by the tag "2\.0".*--name NAME/);
    const r = await doImport(archive, { name: 'small' });
    expect(r.ref).toBe('small:2.0');
    expect(r.manifest).toBe(image.manifest);
    expect(readFileSync(join(layerTree(paths, image.diffIds[0]!), 'hello.txt'), 'utf8')).toBe('hi\n');
    expect(readdirSync(paths.tmp)).toEqual([]);
    await removeImage(inst.host, 'small:2.0', inst.dirs);
    expectStoreEmpty();
  });

  it('rejects a blob or layer that does not match its digest, keeping nothing', async () => {
    const cases: Array<[string, (img: ReturnType<typeof layout>) => void, RegExp]> = [
      [
        'a layer blob with a flipped byte',
        ({ image }) => {
          const p = image.blobPath(image.blobs[1]!);
          const b = readFileSync(p);
          b[b.length >> 1] = b[b.length >> 1]! ^ 0xff;
          writeFileSync(p, b);
        },
        /layer 2 sha256:[0-9a-f]{64}: blob content has digest sha256:/,
      ],
      [
        'a layer blob of the wrong size',
        ({ image }) => appendFileSync(image.blobPath(image.blobs[0]!), 'x'),
        /layer 1 sha256:[0-9a-f]{64}: blob is \d+ bytes, its descriptor says \d+/,
      ],
      [
        'a changed manifest',
        ({ image }) => appendFileSync(image.blobPath(image.manifest), ' '),
        /manifest sha256:[0-9a-f]{64}: blob is \d+ bytes/,
      ],
      [
        'a changed config',
        ({ image }) => {
          const p = image.blobPath(image.config);
          writeFileSync(p, readFileSync(p, 'utf8').replace('"linux"', '"LINUX"'));
        },
        /config sha256:[0-9a-f]{64}: blob content has digest/,
      ],
    ];
    for (const [what, tamper, message] of cases) {
      const img = layout(`bad-${cases.findIndex((c) => c[0] === what)}`, [
        { tar: makeTar([{ path: 'a.txt', data: 'a'.repeat(2000) }]) },
        { tar: makeTar([{ path: 'b.txt', data: 'b'.repeat(2000) }]), gzip: true },
      ]);
      tamper(img);
      const err = await doImport(img.dir).catch((e: unknown) => e);
      expect(err, what).toBeInstanceOf(ImageError);
      expect((err as ImageError).code, what).toBe('IMAGE_DIGEST');
      expect((err as ImageError).message, what).toMatch(message);
      expect((err as ImageError).message, what).toMatch(/^image test\/image:v1: /);
      expectStoreEmpty();
    }
    const wrongDiff = layout('bad-diff', [
      { tar: makeTar([{ path: 'a.txt', data: 'a' }]) },
      { tar: makeTar([{ path: 'b.txt', data: 'b' }]), gzip: true, diffId: `sha256:${'0'.repeat(64)}` },
    ]);
    await expect(doImport(wrongDiff.dir)).rejects.toThrow(
      /layer sha256:0{64}: the uncompressed content has digest sha256:[0-9a-f]{64}, not the config's diff_id/,
    );
    expectStoreEmpty();
  });

  it('refuses entries that leave the layer or make devices, writing nothing outside the store and keeping no partial layer', async () => {
    const canary = join(inst.root, 'canary');
    mkdirSync(canary);
    writeFileSync(join(canary, 'f'), 'canary');
    const escapes = `${'../'.repeat(12)}${canary.slice(1)}`;
    const cases: Array<[string, TarItem[], RegExp]> = [
      ['../canary/pwned', [{ path: '../canary/pwned', data: 'x' }], /refused: path contains "\.\."/],
      [`${canary}/pwned`, [{ path: `${canary}/pwned`, data: 'x' }], /refused: absolute path/],
      [
        'evil/pwned',
        [
          { path: 'evil', type: 'symlink', linkpath: canary },
          { path: 'evil/pwned', data: 'x' },
        ],
        /refused: its parent evil is a symbolic link/,
      ],
      [
        'rel/pwned',
        [
          { path: 'rel', type: 'symlink', linkpath: escapes },
          { path: 'rel/pwned', data: 'x' },
        ],
        /refused: its parent rel is a symbolic link/,
      ],
      ['hl', [{ path: 'hl', type: 'link', linkpath: '../canary/f' }], /refused: hard link target "\.\.\/canary\/f": path contains "\.\."/],
      ['hl', [{ path: 'hl', type: 'link', linkpath: `${canary}/f` }], /refused: hard link target .*: absolute path/],
      [
        'hl',
        [
          { path: 'root', type: 'symlink', linkpath: '/' },
          { path: 'hl', type: 'link', linkpath: `root${canary}/f` },
        ],
        /refused: hard link target root\/.* goes through root, which is a symbolic link/,
      ],
      ['hl', [{ path: 'hl', type: 'link', linkpath: 'etc/passwd' }], /refused: hard link target etc\/passwd is not in this layer/],
      [
        'dev/null',
        [
          { path: 'dev/', type: 'dir' },
          { path: 'dev/null', type: 'char', devmajor: 1, devminor: 3 },
        ],
        /refused: character device node/,
      ],
      ['dev/sda', [{ path: 'dev/sda', type: 'block', devmajor: 8, devminor: 0 }], /refused: block device node/],
    ];
    for (const [entry, items, why] of cases) {
      const { dir, image } = layout(`evil-${cases.findIndex((c) => c[1] === items)}`, [
        { tar: makeTar([{ path: 'ok/', type: 'dir' }, { path: 'ok/file', data: 'fine' }, ...items]), gzip: true },
      ]);
      const err = await doImport(dir).catch((e: unknown) => e);
      expect(err, entry).toBeInstanceOf(ImageError);
      expect((err as ImageError).code, entry).toBe('IMAGE_ENTRY');
      expect((err as ImageError).message, entry).toContain(
        `image ${REF}: layer ${image.diffIds[0]}: entry ${JSON.stringify(entry)}: refused`,
      );
      expect((err as ImageError).message, entry).toMatch(why);
      expect((err as ImageError).details).toMatchObject({ image: REF, digest: image.diffIds[0], entry });
      expect(readdirSync(canary), entry).toEqual(['f']);
      expect(readFileSync(join(canary, 'f'), 'utf8'), entry).toBe('canary');
      expectStoreEmpty();
    }
  });

  it('applies later entries of a layer over earlier ones (never through a symlink), and a file over its own whiteout', async () => {
    const canary = join(inst.root, 'canary');
    mkdirSync(canary);
    writeFileSync(join(canary, 'f'), 'canary');
    const { dir, image } = layout('order', [
      {
        tar: makeTar([
          { path: 'a/.wh.x' },
          { path: 'a/x', data: 'file wins' },
          { path: 'b/x', data: 'kept' },
          { path: 'b/.wh.x' },
          { path: 'c/', type: 'dir' },
          { path: 'c/y', data: 'y' },
          { path: 'c', data: 'now a file' },
          { path: 'd', data: 'was a file' },
          { path: 'd/', type: 'dir', mode: 0o700 },
          { path: 'e', type: 'symlink', linkpath: join(canary, 'f') },
          { path: 'e', data: 'replaces the link' },
          { path: 'p', type: 'fifo', mode: 0o640 },
        ]),
      },
    ]);
    await doImport(dir);
    const t = layerTree(paths, image.diffIds[0]!);
    expect(readFileSync(join(t, 'a', 'x'), 'utf8')).toBe('file wins');
    expect(readFileSync(join(t, 'b', 'x'), 'utf8')).toBe('kept');
    expect(readFileSync(join(t, 'c'), 'utf8')).toBe('now a file');
    expect(lstatSync(join(t, 'd')).isDirectory() && (lstatSync(join(t, 'd')).mode & 0o777) === 0o700).toBe(true);
    expect(lstatSync(join(t, 'e')).isFile()).toBe(true);
    expect(readFileSync(join(canary, 'f'), 'utf8')).toBe('canary');
    expect(lstatSync(join(t, 'p')).isFIFO() && (lstatSync(join(t, 'p')).mode & 0o777) === 0o640).toBe(true);
    await removeImage(inst.host, REF, inst.dirs);
    expectStoreEmpty();
  });

  it('makes an unknown ref an error of its spec file, at the ref, and keeps the other specs running', async () => {
    inst.writeSpec('ok.yaml', inst.spec('ok'));
    const bad = inst.writeSpec('bad.yaml', 'name: bad\ncommand: [sleep, "9"]\nimage:\n  ref: nothere:1\n');
    const r = await inst.reconcile();
    expect(r.ok).toBe(false);
    expect(r.load.errors.map(formatSpecError)).toEqual([`${bad}:4:8: image ref "nothere:1" not found: pocker image import it first`]);
    expect(r.results.map((x) => [x.name, x.kind, x.ok])).toEqual([['ok', 'create', true]]);
  });
});
