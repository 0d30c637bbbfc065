import { describe, expect, it } from 'vitest';
import { recreateFields, RECREATE_FIELDS } from '../../reconciler/plan/plan.js';
import { specHash } from '../../reconciler/spec/hash.js';
import { DEFAULTS, effectiveSpec, normalizeSpec, type RawSpec } from '../../reconciler/spec/normalize.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const parse = (text: string) => parseSpecFile(text, '/specs/web.yaml', { dir: '/specs', file: 'web.yaml' });
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);
const DIGEST = `sha256:${'a'.repeat(64)}`;

/** normalizeSpec without the schema: the semantic checks alone. */
const normalized = (raw: Partial<RawSpec>) => normalizeSpec({ image: 'nginx:1.27', ...raw } as RawSpec, 'web');
const messagesOf = (raw: Partial<RawSpec>) => {
  const r = normalized(raw);
  return 'errors' in r ? r.errors : [];
};

describe('autoUpdate in a spec', () => {
  it('defaults to a check every 6h and a 5m rollback window; the defaults are not in the user spec', () => {
    expect(DEFAULTS.autoUpdateIntervalMs).toBe(6 * 3600_000);
    expect(DEFAULTS.rollbackWindowMs).toBe(5 * 60_000);
    const r = parse('name: web\nimage: nginx:1.27\nautoUpdate: {}\n');
    expect(r.errors.map(formatSpecError)).toEqual([]);
    const d = r.specs[0]!;
    expect(d.user.autoUpdate).toEqual({});
    expect(d.spec.autoUpdate).toEqual({ intervalMs: 6 * 3600_000, rollbackWindowMs: 5 * 60_000 });
  });

  it('takes interval and rollbackWindow as durations, each defaulting alone', () => {
    const both = parse('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 1m30s\n  rollbackWindow: 2m\n');
    expect(both.errors.map(formatSpecError)).toEqual([]);
    expect(both.specs[0]!.user.autoUpdate).toEqual({ intervalMs: 90_000, rollbackWindowMs: 120_000 });
    expect(both.specs[0]!.spec.autoUpdate).toEqual({ intervalMs: 90_000, rollbackWindowMs: 120_000 });
    const interval = parse('name: web\nimage: nginx:1.27\nautoUpdate: {interval: 10s}\n').specs[0]!;
    expect(interval.spec.autoUpdate).toEqual({ intervalMs: 10_000, rollbackWindowMs: 5 * 60_000 });
    const window = parse('name: web\nimage: nginx:1.27\nautoUpdate: {rollbackWindow: 30s}\n').specs[0]!;
    expect(window.spec.autoUpdate).toEqual({ intervalMs: 6 * 3600_000, rollbackWindowMs: 30_000 });
  });

  it('is null in the effective spec of a spec without it, and absent from its user spec', () => {
    const d = parse('name: web\nimage: nginx:1.27\n').specs[0]!;
    expect(d.user).not.toHaveProperty('autoUpdate');
    expect(d.spec.autoUpdate).toBeNull();
    const layers = parse('name: web\nimage: {layers: [/l]}\ncommand: [sh]\n').specs[0]!;
    expect(layers.spec.autoUpdate).toBeNull();
  });

  it('fills the defaults in effectiveSpec (and copies what the user spec sets)', () => {
    const user = { name: 'web', image: { reference: 'docker.io/library/nginx:1.27' } };
    expect(effectiveSpec(user).autoUpdate).toBeNull();
    expect(effectiveSpec({ ...user, autoUpdate: {} }).autoUpdate).toEqual({ intervalMs: 21_600_000, rollbackWindowMs: 300_000 });
    expect(effectiveSpec({ ...user, autoUpdate: { intervalMs: 5000 } }).autoUpdate).toEqual({
      intervalMs: 5000,
      rollbackWindowMs: 300_000,
    });
    expect(effectiveSpec({ ...user, autoUpdate: { rollbackWindowMs: 7000 } }).autoUpdate).toEqual({
      intervalMs: 21_600_000,
      rollbackWindowMs: 7000,
    });
  });

  it('accepts an interval of exactly 1s and refuses a shorter one, at the interval', () => {
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 1s\n')).toEqual([]);
    expect(parse('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 1000ms\n').specs[0]!.spec.autoUpdate!.intervalMs).toBe(1000);
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 999ms\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: autoUpdate\.interval must be at least 1s$/),
    ]);
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 0s\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: autoUpdate\.interval must be at least 1s$/),
    ]);
    expect(messagesOf({ autoUpdate: { interval: '500ms' } })).toEqual([
      { path: ['autoUpdate', 'interval'], message: 'autoUpdate.interval must be at least 1s' },
    ]);
  });

  it('refuses a duration that does not parse or is longer than a day, at the field', () => {
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: 25h\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: autoUpdate\.interval: "25h" is longer than 24h$/),
    ]);
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  rollbackWindow: 25h\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: autoUpdate\.rollbackWindow: "25h" is longer than 24h$/),
    ]);
    // The schema refuses a malformed duration before normalization; normalizeSpec says it too.
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  interval: soon\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: /),
    ]);
    expect(messagesOf({ autoUpdate: { rollbackWindow: 'soon' } })).toEqual([
      { path: ['autoUpdate', 'rollbackWindow'], message: expect.stringMatching(/^autoUpdate\.rollbackWindow: "soon" is not a duration/) },
    ]);
  });

  it('refuses an unknown key inside autoUpdate and a value that is not a mapping', () => {
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate:\n  every: 1m\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: .*unknown key "every"/),
    ]);
    expect(errorsOf('name: web\nimage: nginx:1.27\nautoUpdate: true\n')).toEqual([expect.stringMatching(/^\/specs\/web\.yaml:3:\d+: /)]);
  });

  it('refuses image layers and imported refs, which never move, at autoUpdate', () => {
    expect(errorsOf('name: web\nimage: {layers: [/l]}\ncommand: [sh]\nautoUpdate: {interval: 1m}\n')).toEqual([
      expect.stringMatching(
        /^\/specs\/web\.yaml:4:\d+: autoUpdate needs a registry image \(image: REGISTRY\/NAME:TAG\); layers and imported refs never move$/,
      ),
    ]);
    expect(errorsOf('name: web\nimage: {ref: busybox:1.36}\ncommand: [sh]\nautoUpdate: {}\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:4:\d+: autoUpdate needs a registry image/),
    ]);
    expect(messagesOf({ image: { layers: ['/l'] }, command: ['sh'], autoUpdate: {} })).toEqual([
      { path: ['autoUpdate'], message: expect.stringMatching(/^autoUpdate needs a registry image/) },
    ]);
  });

  it('refuses a digest reference, which never moves, naming it', () => {
    expect(errorsOf(`name: web\nimage: registry.local:5000/app@${DIGEST}\nautoUpdate: {}\n`)).toEqual([
      expect.stringMatching(
        /^\/specs\/web\.yaml:3:\d+: autoUpdate needs a tag: registry\.local:5000\/app@sha256:a{64} names a digest, which never moves$/,
      ),
    ]);
    expect(messagesOf({ image: `nginx@${DIGEST}`, autoUpdate: {} })).toEqual([
      { path: ['autoUpdate'], message: `autoUpdate needs a tag: docker.io/library/nginx@${DIGEST} names a digest, which never moves` },
    ]);
  });

  it('refuses pull: never (an update pulls)', () => {
    expect(errorsOf('name: web\nimage: nginx:1.27\npull: never\nautoUpdate:\n  interval: 1m\n')).toEqual([
      expect.stringMatching(/^\/specs\/web\.yaml:[45]:\d+: autoUpdate pulls: it cannot be used with pull: never$/),
    ]);
    expect(errorsOf('name: web\nimage: nginx:1.27\npull: missing\nautoUpdate: {}\n')).toEqual([]);
  });

  it('reports a bad duration and a refused image together', () => {
    const messages = messagesOf({ image: { layers: ['/l'] }, command: ['sh'], autoUpdate: { interval: '10ms' } }).map((e) => e.message);
    expect(messages).toEqual(
      expect.arrayContaining(['autoUpdate.interval must be at least 1s', expect.stringMatching(/^autoUpdate needs a registry image/)]),
    );
  });

  it('changes the hash (it is part of the user spec), each duration too', () => {
    const plain = parse('name: web\nimage: nginx:1.27\n').specs[0]!;
    const on = parse('name: web\nimage: nginx:1.27\nautoUpdate: {}\n').specs[0]!;
    const hourly = parse('name: web\nimage: nginx:1.27\nautoUpdate: {interval: 1h}\n').specs[0]!;
    const watched = parse('name: web\nimage: nginx:1.27\nautoUpdate: {interval: 1h, rollbackWindow: 1m}\n').specs[0]!;
    const hashes = [plain, on, hourly, watched].map((d) => d.hash);
    expect(new Set(hashes).size).toBe(4);
    expect(on.hash).toBe(specHash({ name: 'web', image: { reference: 'docker.io/library/nginx:1.27' }, autoUpdate: {} }));
    expect(plain.hash).toBe(specHash({ name: 'web', image: { reference: 'docker.io/library/nginx:1.27' } }));
  });

  it('does not recreate: recreateFields lists no field when only autoUpdate changes', () => {
    expect(RECREATE_FIELDS as readonly string[]).not.toContain('autoUpdate');
    const plain = parse('name: web\nimage: nginx:1.27\n').specs[0]!;
    const on = parse('name: web\nimage: nginx:1.27\nautoUpdate: {interval: 1h}\n').specs[0]!;
    const other = parse('name: web\nimage: nginx:1.27\nautoUpdate: {interval: 2h, rollbackWindow: 1m}\n').specs[0]!;
    expect(plain.hash).not.toBe(on.hash);
    expect(recreateFields(plain.user, on.user)).toEqual([]);
    expect(recreateFields(on.user, plain.user)).toEqual([]);
    expect(recreateFields(on.user, other.user)).toEqual([]);
    // A change of the image itself still recreates, with or without autoUpdate.
    const moved = parse('name: web\nimage: nginx:1.28\nautoUpdate: {interval: 1h}\n').specs[0]!;
    expect(recreateFields(on.user, moved.user)).toEqual(['image']);
  });
});
