import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NodeHost } from '../../reconciler/host/nodeHost.js';
import { collectUnusedLayers } from '../../reconciler/image/remove.js';
import {
  imageStorePaths,
  layerTree,
  readManifestRecord,
  STORE_VERSION,
  storedLayers,
  writeManifestRecord,
} from '../../reconciler/image/store.js';
import { containerImageUse } from '../../reconciler/image/usage.js';
import { specHash } from '../../reconciler/spec/hash.js';
import { effectiveSpec } from '../../reconciler/spec/normalize.js';
import type { DesiredContainer, UserSpec } from '../../reconciler/spec/types.js';
import { writeAutoUpdate, type AutoUpdateState } from '../../reconciler/state/autoUpdate.js';
import { containerPaths, type InstanceDirs } from '../../reconciler/state/layout.js';
import { recordOf } from '../helpers/specs.js';

const REF = 'docker.io/library/nginx:1.27';
const D = (c: string): string => `sha256:${c.repeat(64)}`;
/** The manifest rolled back to (from) and the one updated to (to), each with one layer of its own. */
const FROM = D('a');
const TO = D('b');
const FROM_LAYER = D('1');
const TO_LAYER = D('2');

const host = new NodeHost();
let root: string;
let dirs: InstanceDirs;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'pocker-usage-'));
  dirs = { stateDir: join(root, 'run'), dataDir: join(root, 'data'), cgroupParent: 'pocker-test' };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const paths = () => imageStorePaths(dirs.dataDir);

/** Writes the record of a container "web" running the registry image pinned to digest on the layer of that manifest. */
function writeRecord(digest: string, layer: string, name = 'web'): void {
  const user: UserSpec = { name, image: { reference: REF }, autoUpdate: {} };
  const spec = { ...effectiveSpec(user), layers: [layerTree(paths(), layer)], image: { reference: REF, digest }, command: ['nginx'] };
  const d: DesiredContainer = { spec, user, hash: specHash(user), source: { dir: '/specs', file: `${name}.yaml`, doc: 0 } };
  const file = containerPaths(dirs, name).record;
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(recordOf(d))}\n`);
}

const state = (phase: AutoUpdateState['phase'], extra: Partial<AutoUpdateState> = {}): AutoUpdateState => ({
  phase,
  reference: REF,
  from: FROM,
  to: TO,
  ...(phase === 'watching' && { sinceMs: 1, restartsAtStart: 0 }),
  bad: [],
  ...extra,
});

const pinned = () => containerImageUse(host, dirs).uses.flatMap((u) => (u.pinned ? [u.pinned] : []));

/** A manifest and its one layer in the store, named by no reference. */
function storeImage(manifest: string, layer: string): void {
  writeManifestRecord(host, paths(), {
    version: STORE_VERSION,
    manifest,
    config: D('c'),
    layers: [layer],
    size: 1,
    imageConfig: {},
    source: `registry ${REF}`,
    storedAtMs: 1,
  });
  const tree = layerTree(paths(), layer);
  mkdirSync(tree, { recursive: true });
  writeFileSync(join(dirname(tree), 'layer.json'), JSON.stringify({ diffId: layer, size: 1, entries: 1, unpackedAtMs: 1 }));
}

describe('containerImageUse with auto-updates', () => {
  it('reports the digest a watched update may roll back to as pinned, beside the record pin', () => {
    writeRecord(TO, TO_LAYER);
    writeAutoUpdate(host, dirs, 'web', state('watching'));
    const { uses, unreadable } = containerImageUse(host, dirs);
    expect(unreadable).toEqual([]);
    expect(uses).toEqual(
      expect.arrayContaining([
        { name: 'web', layers: [layerTree(paths(), TO_LAYER)], ref: REF, pinned: TO },
        { name: 'web', layers: [], pinned: FROM },
      ]),
    );
    expect(pinned().sort()).toEqual([FROM, TO]);
  });

  it('reports it without a record too (the container is between the two)', () => {
    writeAutoUpdate(host, dirs, 'web', state('watching'));
    expect(containerImageUse(host, dirs)).toEqual({ uses: [{ name: 'web', layers: [], pinned: FROM }], unreadable: [] });
  });

  it('reports it while updating and rolling back as well', () => {
    writeRecord(FROM, FROM_LAYER);
    for (const phase of ['updating', 'rolling-back'] as const) {
      writeAutoUpdate(host, dirs, 'web', state(phase));
      expect(pinned(), phase).toContain(FROM);
    }
  });

  it('does not report from once idle (the window passed, or rolled back)', () => {
    writeRecord(TO, TO_LAYER);
    writeAutoUpdate(host, dirs, 'web', state('idle'));
    expect(pinned()).toEqual([TO]);
    // Even an idle state that still names a from (left by hand or an older controller).
    writeAutoUpdate(host, dirs, 'web', state('idle', { from: FROM }));
    expect(pinned()).toEqual([TO]);
    expect(containerImageUse(host, dirs).uses).toHaveLength(1);
  });

  it('reports nothing for a state that names no from', () => {
    writeAutoUpdate(host, dirs, 'web', state('watching', { from: undefined }));
    expect(containerImageUse(host, dirs)).toEqual({ uses: [], unreadable: [] });
  });

  it('reports the from of each container under way', () => {
    writeAutoUpdate(host, dirs, 'web', state('watching'));
    writeAutoUpdate(host, dirs, 'api', state('rolling-back', { from: D('e') }));
    writeAutoUpdate(host, dirs, 'db', state('idle', { from: D('f') }));
    expect(pinned().sort()).toEqual([FROM, D('e')].sort());
  });
});

describe('collectUnusedLayers with auto-updates', () => {
  it('keeps the manifest and layers a watched update may roll back to', () => {
    storeImage(FROM, FROM_LAYER);
    storeImage(TO, TO_LAYER);
    writeRecord(TO, TO_LAYER);
    writeAutoUpdate(host, dirs, 'web', state('watching'));
    expect(collectUnusedLayers(host, paths(), dirs)).toEqual({ removed: [] });
    expect(readManifestRecord(host, paths(), FROM)).not.toBeNull();
    expect(readManifestRecord(host, paths(), TO)).not.toBeNull();
    expect(storedLayers(host, paths()).sort()).toEqual([FROM_LAYER, TO_LAYER]);
  });

  it('collects them once the state is idle', () => {
    storeImage(FROM, FROM_LAYER);
    storeImage(TO, TO_LAYER);
    writeRecord(TO, TO_LAYER);
    writeAutoUpdate(host, dirs, 'web', state('idle'));
    expect(collectUnusedLayers(host, paths(), dirs)).toEqual({ removed: [FROM_LAYER] });
    expect(readManifestRecord(host, paths(), FROM)).toBeNull();
    expect(readManifestRecord(host, paths(), TO)).not.toBeNull();
    expect(storedLayers(host, paths())).toEqual([TO_LAYER]);
  });
});
