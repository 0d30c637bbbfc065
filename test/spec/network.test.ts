import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSpecDir } from '../../reconciler/spec/load.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const base = 'image: {layers: [/l]}\ncommand: [sleep, "1"]\n';
const parse = (text: string) => parseSpecFile(text, '/d/web.yaml', { dir: '/d', file: 'web.yaml' });

describe('network section', () => {
  it('fills in the default network and tcp for bridge ports', () => {
    const r = parse(`${base}network: {mode: bridge, ports: [{host: 8080, container: 80}]}\n`);
    expect(r.errors).toEqual([]);
    expect(r.specs[0]!.spec.network).toEqual({
      mode: 'bridge',
      name: 'pocker',
      ports: [{ host: 8080, container: 80, protocol: 'tcp' }],
      aliases: [],
      ingress: [],
      egress: [],
    });
  });

  it('keeps the hash of specs written before bridge mode existed', () => {
    const old = parse(`${base}network: {mode: none}\n`).specs[0]!;
    expect(old.user.network).toEqual({ mode: 'none' });
  });

  it('refuses bridge-only fields without bridge, a port published twice, and bad addresses, at their line', () => {
    const noBridge = parse(`${base}network:\n  mode: none\n  ports: [{host: 80, container: 80}]\n`);
    expect(noBridge.errors.map(formatSpecError)).toEqual([
      expect.stringMatching(/^\/d\/web\.yaml:5:\d+: network\.ports needs network\.mode bridge/),
    ]);
    const twice = parse(`${base}network:\n  mode: bridge\n  ports:\n    - {host: 80, container: 80}\n    - {host: 80, container: 81}\n`);
    expect(twice.errors.map(formatSpecError).join('\n')).toMatch(/:7:\d+: host port tcp\/80 is already published by network\.ports\[0\]/);
    expect(parse(`${base}network: {mode: bridge, ports: [{host: 80, container: 80, hostIP: 300.1.1.1}]}\n`).errors).not.toEqual([]);
    expect(parse(`${base}network: {mode: bridge, ports: [{host: 0, container: 80}]}\n`).errors).not.toEqual([]);
  });

  it('fails both files when two specs publish the same host port', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pocker-net-'));
    try {
      writeFileSync(join(dir, 'a.yaml'), `${base}network: {mode: bridge, ports: [{host: 80, container: 80}]}\n`);
      writeFileSync(join(dir, 'b.yaml'), `${base}network: {mode: bridge, ports: [{host: 80, container: 81}]}\n`);
      writeFileSync(join(dir, 'c.yaml'), `${base}network: {mode: bridge, ports: [{host: 80, container: 80, protocol: udp}]}\n`);
      const load = loadSpecDir(dir);
      expect([...load.failedFiles].sort()).toEqual(['a.yaml', 'b.yaml']);
      expect(load.desired.map((d) => d.spec.name)).toEqual(['c']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
