import { describe, expect, it } from 'vitest';
import { securityPairs } from '../../../reconciler/runtime/security/policy.js';
import { seccompBytes } from '../../../reconciler/runtime/security/seccomp.js';
import { effectiveCapabilities } from '../../../reconciler/runtime/security/capabilities.js';
import { normalizeSpec, type RawSpec } from '../../../reconciler/spec/normalize.js';
import type { ContainerSpec } from '../../../reconciler/spec/types.js';

function spec(extra: Partial<RawSpec> = {}): ContainerSpec {
  const r = normalizeSpec({ image: { layers: ['/l'] }, command: ['x'], ...extra } as RawSpec, 'web');
  if ('errors' in r) throw new Error(JSON.stringify(r.errors));
  return r.spec;
}

const seccompOf = (s: ContainerSpec): string | undefined => securityPairs(s).find(([k]) => k === 'seccomp')?.[1];

describe('securityPairs', () => {
  it('gives each capability set its own filter, the same one when asked again (on x64)', () => {
    if (process.arch !== 'x64') return expect(seccompOf(spec())).toBeUndefined();
    const plain = spec();
    const admin = spec({ capabilities: { add: ['SYS_ADMIN'] } } as Partial<RawSpec>);
    const caps = (s: ContainerSpec) => effectiveCapabilities(s.privileged, s.capabilities.add, s.capabilities.drop);
    expect(seccompOf(plain)).toBe(seccompBytes(caps(plain)).toString('hex'));
    expect(seccompOf(admin)).toBe(seccompBytes(caps(admin)).toString('hex'));
    expect(seccompOf(admin)).not.toBe(seccompOf(plain));
    // Asked again in the other order, each set still gets its own.
    expect(seccompOf(plain)).toBe(seccompBytes(caps(plain)).toString('hex'));
    expect(seccompOf(spec({ privileged: true } as Partial<RawSpec>))).toBeUndefined();
  });
});
