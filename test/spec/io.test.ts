import { describe, expect, it } from 'vitest';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const parse = (text: string) => parseSpecFile(text, '/specs/web.yaml', { dir: '/specs', file: 'web.yaml' });
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);

const VALID = `name: web
image:
  layers: [/layers/busybox]
command: [httpd, -f]
resources:
  io:
`;

describe('resources.io', () => {
  it('normalizes quantities to bytes and sorts entries by device path', () => {
    const r = parse(
      `${VALID}    - {device: /dev/vdc, readIops: 100, writeIops: 50}\n    - {device: /dev/vdb, readBps: 10Mi, writeBps: 5M}\n`,
    );
    expect(r.errors).toEqual([]);
    expect(r.specs[0]!.user.resources).toEqual({
      io: [
        { device: '/dev/vdb', readBps: 10 * 2 ** 20, writeBps: 5_000_000 },
        { device: '/dev/vdc', readIops: 100, writeIops: 50 },
      ],
    });
  });

  it('hashes the same whatever the order of the entries', () => {
    const a = parse(`${VALID}    - {device: /dev/vdc, readIops: 100}\n    - {device: /dev/vdb, readBps: 1024}\n`);
    const b = parse(`${VALID}    - {device: /dev/vdb, readBps: 1024}\n    - {device: /dev/vdc, readIops: 100}\n`);
    expect(a.specs[0]!.hash).toBe(b.specs[0]!.hash);
  });

  it('leaves an empty list out of the user spec (no io is no throttle)', () => {
    const r = parse(`${VALID}    []\n`);
    expect(r.errors).toEqual([]);
    expect(r.specs[0]!.user.resources).toBeUndefined();
  });

  it('refuses unknown keys, bad quantities and out-of-range IOPS at the value', () => {
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, readbps: 1Mi}\n`)).toEqual([
      expect.stringMatching(/:7:26: unknown key "readbps" in resources\.io\[0\]/),
    ]);
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, writeBps: fast}\n`)).toEqual([
      expect.stringMatching(/:7:36: resources\.io\[0\]\.writeBps must be a quantity/),
    ]);
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, writeIops: 1}\n`)).toEqual([
      expect.stringMatching(/:7:37: resources\.io\[0\]\.writeIops must be at least 2, not 1/),
    ]);
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, readIops: 4294967295}\n`)).toEqual([
      expect.stringMatching(/:7:36: resources\.io\[0\]\.readIops must be at most 4294967294, not 4294967295/),
    ]);
    expect(errorsOf(`${VALID}    - {device: dev/vdb, readIops: 5}\n`)).toEqual([
      expect.stringMatching(/:7:16: resources\.io\[0\]\.device "dev\/vdb" must be an absolute path/),
    ]);
    expect(errorsOf(`${VALID}    - {readIops: 5}\n`)).toEqual([
      expect.stringMatching(/:7:7: missing required key "device" in resources\.io\[0\]/),
    ]);
  });

  it('refuses a throttle below the kernel minimum, an entry that limits nothing, and a device given twice', () => {
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, readBps: 1}\n`)).toEqual([
      expect.stringMatching(/:7:35: resources\.io\[0\]\.readBps must be at least 2 bytes per second \(got 1\)/),
    ]);
    expect(errorsOf(`${VALID}    - {device: /dev/vdb}\n`)).toEqual([
      expect.stringMatching(/:7:7: resources\.io\[0\] limits nothing: set readBps, writeBps, readIops or writeIops/),
    ]);
    expect(errorsOf(`${VALID}    - {device: /dev/vdb, readBps: 1Mi}\n    - {device: /dev/vdb, writeBps: 1Mi}\n`)).toEqual([
      expect.stringMatching(/:8:16: resources\.io\[1\]: device \/dev\/vdb is already limited by resources\.io\[0\]/),
    ]);
  });
});
