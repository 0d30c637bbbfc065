import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  formatReference,
  parseReference,
  registryHost,
  repositoryName,
  type ImageReference,
} from '../../reconciler/spec/imageReference.js';

const D = `sha256:${'a'.repeat(64)}`;

function ok(s: string): ImageReference {
  const r = parseReference(s);
  if ('error' in r) throw new Error(r.error);
  return r;
}

function error(s: string): string {
  const r = parseReference(s);
  if (!('error' in r)) throw new Error(`${s} parsed as ${JSON.stringify(r)}`);
  return r.error;
}

describe('parseReference', () => {
  it("fills in Docker's defaults", () => {
    expect(ok('nginx')).toEqual({ registry: 'docker.io', repository: 'library/nginx', tag: 'latest' });
    expect(ok('nginx:1.27')).toEqual({ registry: 'docker.io', repository: 'library/nginx', tag: '1.27' });
    expect(ok('team/app')).toEqual({ registry: 'docker.io', repository: 'team/app', tag: 'latest' });
    expect(ok('docker.io/nginx')).toEqual({ registry: 'docker.io', repository: 'library/nginx', tag: 'latest' });
    expect(ok('index.docker.io/library/nginx:1')).toEqual({ registry: 'docker.io', repository: 'library/nginx', tag: '1' });
  });

  it('takes a host when the first component has a dot, a port or is localhost', () => {
    expect(ok('ghcr.io/o/app:2')).toEqual({ registry: 'ghcr.io', repository: 'o/app', tag: '2' });
    expect(ok('localhost/app')).toEqual({ registry: 'localhost', repository: 'app', tag: 'latest' });
    expect(ok('localhost:5000/app:v1')).toEqual({ registry: 'localhost:5000', repository: 'app', tag: 'v1' });
    expect(ok('127.0.0.1:5000/a/b/c:t')).toEqual({ registry: '127.0.0.1:5000', repository: 'a/b/c', tag: 't' });
    expect(ok('[::1]:5000/app:v1')).toEqual({ registry: '[::1]:5000', repository: 'app', tag: 'v1' });
    expect(ok('Registry.Example/app')).toEqual({ registry: 'Registry.Example', repository: 'app', tag: 'latest' });
  });

  it('keeps a digest, and the tag beside it', () => {
    expect(ok(`registry.local:5000/app@${D}`)).toEqual({ registry: 'registry.local:5000', repository: 'app', digest: D });
    expect(ok(`host:5000/a/b:tag@${D}`)).toEqual({ registry: 'host:5000', repository: 'a/b', tag: 'tag', digest: D });
    expect(ok(`nginx@sha512:${'b'.repeat(128)}`).digest).toBe(`sha512:${'b'.repeat(128)}`);
  });

  it('says why a reference is refused', () => {
    expect(error('')).toMatch(/empty/);
    expect(error('Nginx')).toMatch(/must be lowercase/);
    expect(error('ghcr.io/Org/app:1')).toMatch(/"Org\/app" must be lowercase/);
    expect(error('app:')).toMatch(/tag ""/);
    expect(error('app:-x')).toMatch(/tag "-x"/);
    expect(error(`app:${'t'.repeat(129)}`)).toMatch(/tag/);
    expect(error('app@sha256:abc')).toMatch(/not a digest/);
    expect(error(`app@md5:${'a'.repeat(32)}`)).toMatch(/only sha256/);
    expect(error(`app@sha256:${'A'.repeat(64)}`)).toMatch(/lowercase/);
    expect(error('a//b')).toMatch(/empty path component/);
    expect(error('ghcr.io/')).toMatch(/empty/);
    expect(error('-app')).toMatch(/path component "-app"/);
    expect(error('app_')).toMatch(/path component/);
    expect(error('my app')).toMatch(/white space/);
    expect(error('bad_host:5000:1/app')).toMatch(/registry "bad_host:5000:1"|path component/);
    expect(error('a'.repeat(64).replace(/a/g, 'f'))).toMatch(/image ID/);
    expect(error(`example.com/${'a'.repeat(250)}`)).toMatch(/longer than 255/);
    expect(error('Nginx')).toContain('"Nginx"');
  });
});

describe('formatReference and friends', () => {
  it('writes the canonical text', () => {
    expect(formatReference(ok('nginx:1.27'))).toBe('docker.io/library/nginx:1.27');
    expect(formatReference(ok(`reg:5000/app@${D}`))).toBe(`reg:5000/app@${D}`);
    expect(formatReference(ok(`reg:5000/app:v2@${D}`))).toBe(`reg:5000/app:v2@${D}`);
    expect(repositoryName(ok('nginx:1.27'))).toBe('docker.io/library/nginx');
  });

  it('sends docker.io to registry-1.docker.io and every other registry to itself', () => {
    expect(registryHost('docker.io')).toBe('registry-1.docker.io');
    expect(registryHost('ghcr.io')).toBe('ghcr.io');
    expect(registryHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
  });

  it('parses what it formats back to the same reference', () => {
    const component = fc.stringMatching(/^[a-z0-9]+(?:[._-][a-z0-9]+)?$/);
    const arb = fc.record(
      {
        registry: fc.constantFrom('docker.io', 'ghcr.io', 'registry.local:5000', 'localhost', '127.0.0.1:5000'),
        repository: fc.array(component, { minLength: 2, maxLength: 4 }).map((c) => c.join('/')),
        tag: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,20}$/),
        digest: fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`),
      },
      { requiredKeys: ['registry', 'repository'] },
    );
    fc.assert(
      fc.property(arb, (r) => {
        const expected = r.tag === undefined && r.digest === undefined ? { ...r, tag: 'latest' } : r;
        expect(ok(formatReference(r))).toEqual(expected);
      }),
    );
  });
});
