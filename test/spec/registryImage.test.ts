import { describe, expect, it } from 'vitest';
import { specHash } from '../../reconciler/spec/hash.js';
import { parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';

const parse = (text: string) => parseSpecFile(text, '/specs/web.yaml', { dir: '/specs', file: 'web.yaml' });
const errorsOf = (text: string) => parse(text).errors.map(formatSpecError);

describe('registry images in a spec', () => {
  it("normalizes the reference with Docker's defaults, so nginx:1.27 and docker.io/library/nginx:1.27 are one spec", () => {
    const short = parse('name: web\nimage: nginx:1.27\n');
    const long = parse('name: web\nimage: docker.io/library/nginx:1.27\n');
    expect(short.errors).toEqual([]);
    expect(short.specs[0]!.user.image).toEqual({ reference: 'docker.io/library/nginx:1.27' });
    expect(short.specs[0]!.hash).toBe(long.specs[0]!.hash);
    expect(parse('name: web\nimage: nginx\n').specs[0]!.user.image).toEqual({ reference: 'docker.io/library/nginx:latest' });
    expect(parse('name: web\nimage: ghcr.io/o/app:2\n').specs[0]!.user.image).toEqual({ reference: 'ghcr.io/o/app:2' });
    const pinned = parse(`name: web\nimage: registry.local:5000/app@sha256:${'a'.repeat(64)}\n`);
    expect(pinned.specs[0]!.user.image).toEqual({ reference: `registry.local:5000/app@sha256:${'a'.repeat(64)}` });
  });

  it('needs no command for an image; keeps command and args as written; pull: missing is the default and not hashed', () => {
    const r = parse('name: web\nimage: nginx:1.27\nargs: [nginx-debug, -g, "daemon off;"]\npull: missing\n');
    expect(r.errors).toEqual([]);
    expect(r.specs[0]!.user).toEqual({
      name: 'web',
      image: { reference: 'docker.io/library/nginx:1.27' },
      args: ['nginx-debug', '-g', 'daemon off;'],
    });
    expect(r.specs[0]!.spec.command).toEqual([]);
    expect(parse('name: web\nimage: nginx:1.27\npull: never\n').specs[0]!.user.pull).toBe('never');
  });

  it('keeps the hash of a spec that sets command (existing specs are not recreated by the upgrade)', () => {
    const r = parse('name: web\nimage: {layers: [/l]}\ncommand: [httpd, -f]\n');
    expect(r.specs[0]!.hash).toBe(specHash({ name: 'web', image: { layers: ['/l'] }, command: ['httpd', '-f'] }));
    expect(r.specs[0]!.spec.command).toEqual(['httpd', '-f']);
  });

  it('refuses what cannot run, at its line', () => {
    expect(errorsOf('name: web\nimage: {layers: [/l]}\n')).toEqual([
      expect.stringMatching(/:2:\d+: image\.layers has no image config to take a command from: give command/),
    ]);
    expect(errorsOf('name: web\nimage: {layers: [/l]}\ncommand: [sh]\npull: never\n')).toEqual([
      expect.stringMatching(/:4:\d+: pull applies to registry images/),
    ]);
    expect(errorsOf('name: web\nimage: NGINX:1.27\n')).toEqual([expect.stringMatching(/:2:\d+: /)]);
    expect(errorsOf('name: web\nimage: nginx:1.27\ncommand: []\n')).toEqual([expect.stringMatching(/:3:10: command must not be empty/)]);
    expect(errorsOf('name: web\nimage: nginx:1.27\nstopSignal: SIGKILL\n')).toEqual([
      expect.stringMatching(/stopSignal: SIGKILL cannot be a stop signal/),
    ]);
  });

  it('takes a stop signal by name, short name or number', () => {
    for (const s of ['SIGQUIT', 'QUIT', '3'])
      expect(parse(`name: web\nimage: nginx\nstopSignal: "${s}"\n`).specs[0]!.spec.stopSignal).toBe('SIGQUIT');
    expect(parse('name: web\nimage: nginx\n').specs[0]!.spec.stopSignal).toBe('SIGTERM');
  });
});
