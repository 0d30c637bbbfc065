import { describe, expect, it } from 'vitest';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { monitorConfigOf } from '../helpers/monitorConfig.js';

const base = 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n';
const parse = (text: string) => parseSpecFile(text, '/d/web.yaml', { dir: '/d', file: 'web.yaml' });
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);

describe('userns', () => {
  it('is auto with 65536 ids by default, host for privileged; the default is not hashed (running containers are not recreated for it)', () => {
    const plain = parse(base).specs[0]!;
    expect(plain.spec.userns).toEqual({ mode: 'auto', size: 65536 });
    expect('userns' in plain.user).toBe(false);
    expect(parse(`${base}userns: host\n`).specs[0]!.spec.userns).toEqual({ mode: 'host' });
    expect(parse(`${base}privileged: true\n`).specs[0]!.spec.userns).toEqual({ mode: 'host' });
    const big = parse(`${base}userns: {size: 131072}\n`).specs[0]!;
    expect(big.spec.userns).toEqual({ mode: 'auto', size: 131072 });
    expect(big.user.userns).toEqual({ size: 131072 });
    expect(parse(`${base}userns: auto\n`).specs[0]!.hash).not.toBe(plain.hash);
    expect(parse(`${base}mounts: [{source: /s, target: /t}]\n`).specs[0]!.spec.mounts).toEqual([
      { source: '/s', target: '/t', readOnly: false, idmap: true },
    ]);
    expect(parse(`${base}mounts: [{source: /s, target: /t, idmap: false}]\n`).specs[0]!.user.mounts).toEqual([
      { source: '/s', target: '/t', idmap: false },
    ]);
  });

  it('refuses what cannot work, at its line: privileged in a namespace of its own, ids beyond its size, a size below 65536', () => {
    expect(errorsOf(`${base}privileged: true\nuserns: auto\n`)).toEqual([
      expect.stringMatching(/^\/d\/web\.yaml:4:\d+: .*privileged container runs in the host's user namespace/),
    ]);
    expect(errorsOf(`${base}privileged: true\nuserns: host\n`)).toEqual([]);
    expect(errorsOf(`${base}user: "70000:10"\n`)).toEqual([
      expect.stringMatching(/^\/d\/web\.yaml:3:\d+: user: id 70000 is outside .*ids 0-65535/),
    ]);
    expect(errorsOf(`${base}user: "70000:10"\nuserns: {size: 131072}\n`)).toEqual([]);
    expect(errorsOf(`${base}user: "70000"\nuserns: host\n`)).toEqual([]);
    expect(errorsOf(`${base}files: [{target: /f, content: x, uid: 65536}]\n`)).toEqual([
      expect.stringMatching(/files\[0\]\.uid 65536 is outside/),
    ]);
    expect(errorsOf(`${base}userns: {size: 1000}\n`)).not.toEqual([]);
    expect(errorsOf(`${base}userns: maybe\n`)).not.toEqual([]);
  });

  it('hands the monitor the range, idmapped layers and binds, owned tmpfs and the namespace sysctls', () => {
    const d = parse(
      `${base}network: {mode: none}\nmounts: [{source: /a, target: /a}, {source: /b, target: /b, idmap: false}]\nvolumes: [{name: v, target: /v}]\ntmpfs: [{target: /t}]\n`,
    ).specs[0]!;
    const pairsOf = (userns?: { uid: number; gid: number; size: number }) => {
      const flat = monitorConfigOf(d.spec, userns && { userns });
      const out: string[] = [];
      for (let i = 0; i + 1 < flat.length; i += 2) out.push(`${flat[i]}=${flat[i + 1]}`);
      return out;
    };
    const mapped = pairsOf({ uid: 2 ** 31, gid: 2 ** 31 + 7, size: 65536 });
    expect(mapped).toContain(`userns=${2 ** 31} ${2 ** 31 + 7} 65536`);
    expect(mapped.filter((p) => p.startsWith('bind_flags='))).toEqual([
      'bind_flags=rw,dir,idmap',
      'bind_flags=rw,dir',
      'bind_flags=rw,dir,idmap',
    ]);
    expect(mapped).toContain(`tmpfs_data=size=${64 * 2 ** 20},mode=1777,uid=${2 ** 31},gid=${2 ** 31 + 7}`);
    expect(mapped.filter((p) => p.startsWith('sysctl='))).toEqual([
      'sysctl=net.ipv4.ip_unprivileged_port_start=0',
      'sysctl=net.ipv4.ping_group_range=0 4294967294',
    ]);
    const host = pairsOf();
    expect(host.filter((p) => p.startsWith('userns=') || p.startsWith('sysctl=') || p.includes('idmap'))).toEqual([]);
  });
});
