import { describe, expect, it } from 'vitest';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { monitorConfigOf } from '../helpers/monitorConfig.js';

const base = 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n';
const parse = (text: string) => parseSpecFile(text, '/d/web.yaml', { dir: '/d', file: 'web.yaml' });

describe('volumes and tmpfs', () => {
  it('fills in defaults, and leaves the hash of specs without them as it was', () => {
    const r = parse(`${base}volumes: [{name: data, target: /data}]\ntmpfs: [{target: /tmp}, {target: /s, size: 1Mi, mode: "0700"}]\n`);
    expect(r.errors).toEqual([]);
    const d = r.specs[0]!;
    expect(d.spec.volumes).toEqual([{ name: 'data', target: '/data', readOnly: false }]);
    expect(d.spec.tmpfs).toEqual([
      { target: '/tmp', sizeBytes: 64 * 2 ** 20, mode: 0o1777 },
      { target: '/s', sizeBytes: 2 ** 20, mode: 0o700 },
    ]);
    expect(d.user.tmpfs).toEqual([{ target: '/tmp' }, { target: '/s', sizeBytes: 2 ** 20, mode: 0o700 }]);
    const plain = parse(base).specs[0]!;
    expect('volumes' in plain.user || 'tmpfs' in plain.user).toBe(false);
    expect(plain.spec.volumes).toEqual([]);
    expect(parse(`${base}volumes: []\n`).specs[0]!.hash).toBe(plain.hash);
  });

  it('refuses one target mounted twice across mounts, volumes and tmpfs, bad names and sizes, at their line', () => {
    const twice = parse(`${base}mounts: [{source: /srv, target: /x}]\nvolumes:\n  - {name: v, target: /x}\ntmpfs:\n  - {target: /x}\n`);
    expect(twice.errors.map(formatSpecError)).toEqual([
      expect.stringMatching(/^\/d\/web\.yaml:5:\d+: .*target \/x is already mounted by mounts\[0\]/),
      expect.stringMatching(/^\/d\/web\.yaml:7:\d+: .*target \/x is already mounted by volumes\[0\]/),
    ]);
    expect(parse(`${base}volumes: [{name: ../up, target: /x}]\n`).errors).not.toEqual([]);
    expect(parse(`${base}volumes: [{name: v, target: relative}]\n`).errors).not.toEqual([]);
    expect(parse(`${base}tmpfs: [{target: /t, size: 100}]\n`).errors.map(formatSpecError).join('\n')).toMatch(/below one page/);
    expect(parse(`${base}tmpfs: [{target: /t, size: lots}]\n`).errors).not.toEqual([]);
    expect(parse(`${base}tmpfs: [{target: /t, mode: "999"}]\n`).errors).not.toEqual([]);
  });

  it('hands the monitor a bind of each volume directory and a tmpfs with its size and mode', () => {
    const d = parse(`${base}volumes: [{name: data, target: /data, readOnly: true}]\ntmpfs: [{target: /s, size: 1Mi, mode: "0700"}]\n`)
      .specs[0]!;
    const config = monitorConfigOf(d.spec);
    const at = (k: string, v: string) => config.findIndex((x, i) => i % 2 === 0 && x === k && config[i + 1] === v);
    const src = at('bind_src', '/var/lib/p/volumes/data');
    expect(src).toBeGreaterThanOrEqual(0);
    expect(config.slice(src, src + 6)).toEqual(['bind_src', '/var/lib/p/volumes/data', 'bind_dst', '/data', 'bind_flags', 'ro,dir']);
    const t = at('tmpfs_dst', '/s');
    expect(config.slice(t, t + 4)).toEqual(['tmpfs_dst', '/s', 'tmpfs_data', `size=${2 ** 20},mode=700`]);
  });
});
