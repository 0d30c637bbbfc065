import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { imageResolver } from '../../reconciler/image/resolve.js';
import { imageStorePaths, layerDir, layerTree, writeRefs } from '../../reconciler/image/store.js';
import { resolveImageRefs, type ImageResolver } from '../../reconciler/spec/imageRef.js';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const SRC = { dir: '/specs', file: 'web.yaml' };
const parse = (text: string) => parseSpecFile(text, '/specs/web.yaml', SRC);
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);
const WITH_REF = 'name: web\ncommand: [sh]\nimage:\n  ref: busybox:1.36\n';
const D = (c: string): string => `sha256:${c.repeat(64)}`;

describe('image.ref in specs', () => {
  it('parses a ref (no layers until a controller resolves it) and remembers where it is written', () => {
    const r = parse(WITH_REF);
    expect(r.errors).toEqual([]);
    const d = r.specs[0]!;
    expect(d.user.image).toEqual({ ref: 'busybox:1.36' });
    expect(d.spec.layers).toEqual([]);
    expect(d.imageRefAt).toEqual({ line: 4, col: 8 });
  });

  it('needs exactly one of layers and ref', () => {
    expect(errorsOf('command: [sh]\nimage:\n  ref: busybox:1\n  layers: [/l]\n')).toEqual([
      expect.stringMatching(/:3:3: image needs exactly one of "layers" .* or "ref" .*, not both$/),
    ]);
    expect(errorsOf('command: [sh]\nimage: {}\n')).toEqual([expect.stringMatching(/:2:8: image needs exactly one of "layers"/)]);
    expect(errorsOf('command: [sh]\nimage: {ref: busybox}\n')).toEqual([
      expect.stringMatching(/image\.ref "busybox" is not an image reference NAME:TAG/),
    ]);
    expect(errorsOf('command: [sh]\nimage: {reff: busybox}\n')).toEqual(
      expect.arrayContaining([expect.stringMatching(/unknown key "reff" in image; did you mean "ref"\?/)]),
    );
  });

  it('resolves a ref to its layers, with the manifest digest in the user spec and the hash', () => {
    const [d] = parse(WITH_REF).specs;
    const one: ImageResolver = () => ({ digest: D('a'), layers: ['/store/l1/root', '/store/l2/root'] });
    const two: ImageResolver = () => ({ digest: D('b'), layers: ['/store/l1/root', '/store/l2/root'] });
    const r1 = resolveImageRefs([d!], '/specs/web.yaml', one);
    const r2 = resolveImageRefs([d!], '/specs/web.yaml', two);
    expect(r1.errors).toEqual([]);
    expect(r1.specs[0]!.spec.layers).toEqual(['/store/l1/root', '/store/l2/root']);
    expect(r1.specs[0]!.user.image).toEqual({ ref: 'busybox:1.36', digest: D('a') });
    expect(r1.specs[0]!.hash).not.toBe(d!.hash);
    expect(r2.specs[0]!.hash).not.toBe(r1.specs[0]!.hash);
    expect(d!.spec.layers).toEqual([]);
  });

  it('reports an unknown ref as an error of the file at the ref', () => {
    const [d] = parse(WITH_REF).specs;
    const r = resolveImageRefs([d!], '/specs/web.yaml', () => null);
    expect(r.specs).toEqual([]);
    expect(r.errors.map(formatSpecError)).toEqual([
      '/specs/web.yaml:4:8: image ref "busybox:1.36" not found: pocker image import it first',
    ]);
  });
});

describe('loading specs with the image store', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'pocker-image-spec-'));
    mkdirSync(join(root, 'specs'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('resolves refs through the data dir, fails only the file with an unknown ref, and stays host-independent without a resolver', () => {
    const data = join(root, 'data');
    const paths = imageStorePaths(data);
    mkdirSync(paths.layers, { recursive: true });
    writeRefs(new NodeHost(), paths, {
      version: 1,
      refs: { 'busybox:1.36': { manifest: D('c'), config: D('d'), layers: [D('e')], size: 1, importedAtMs: 1, source: '/x' } },
    });
    mkdirSync(layerTree(paths, D('e')), { recursive: true });
    writeFileSync(join(layerDir(paths, D('e')), 'layer.json'), JSON.stringify({ diffId: D('e'), size: 1, entries: 1, unpackedAtMs: 1 }));
    writeFileSync(join(root, 'specs', 'good.yaml'), WITH_REF.replace('name: web', 'name: good'));
    writeFileSync(join(root, 'specs', 'bad.yaml'), 'name: bad\ncommand: [sh]\nimage: {ref: "nothere:1"}\n');
    const load = loadSpecDir(join(root, 'specs'), undefined, undefined, { images: imageResolver(new NodeHost(), data) });
    expect(load.desired.map((d) => [d.spec.name, d.spec.layers])).toEqual([['good', [layerTree(paths, D('e'))]]]);
    expect(load.errors.map(formatSpecError)).toEqual([
      `${join(root, 'specs', 'bad.yaml')}:3:14: image ref "nothere:1" not found: pocker image import it first`,
    ]);
    expect([...load.failedFiles]).toEqual(['bad.yaml']);
    const plain = loadSpecDir(join(root, 'specs'));
    expect(plain.errors).toEqual([]);
    expect(plain.desired).toHaveLength(2);
  });

  it('tells when a ref names a layer that is gone from the store', () => {
    const data = join(root, 'data');
    const paths = imageStorePaths(data);
    mkdirSync(paths.root, { recursive: true });
    writeRefs(new NodeHost(), paths, {
      version: 1,
      refs: { 'busybox:1.36': { manifest: D('c'), config: D('d'), layers: [D('e')], size: 1, importedAtMs: 1, source: '/x' } },
    });
    writeFileSync(join(root, 'specs', 'good.yaml'), WITH_REF);
    const load = loadSpecDir(join(root, 'specs'), undefined, undefined, { images: imageResolver(new NodeHost(), data) });
    expect(load.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/image ref "busybox:1\.36": its layer sha256:e+ is missing from the image store/),
    ]);
  });
});
