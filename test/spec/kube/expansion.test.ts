import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { escapeExpansion, expand, resolvesIn } from '../../../reconciler/spec/kube/expansion.js';

describe("Kubernetes' $(VAR) expansion", () => {
  const env: Record<string, string> = { HOME: '/root', A: 'x' };
  const lookup = (n: string) => (Object.hasOwn(env, n) ? env[n] : n.startsWith('KUBERNETES_') ? '10.0.0.1' : undefined);

  it('expands as Kubernetes does: known names, $$ to $, the rest as written', () => {
    expect(expand('$(HOME)/bin', lookup)).toBe('/root/bin');
    expect(expand('$$(HOME) $$ $$$ a$b $( $(UNSET) $', lookup)).toBe('$(HOME) $ $$ a$b $( $(UNSET) $');
    expect(expand('$(A)$(A)', lookup)).toBe('xx');
  });

  it('escapes what Kubernetes would change, only that', () => {
    expect(escapeExpansion('echo $(hostname) $$ $(HOME)', resolvesIn(env))).toBe('echo $(hostname) $$$ $$(HOME)');
    expect(escapeExpansion('$(KUBERNETES_SERVICE_HOST)', resolvesIn(undefined))).toBe('$$(KUBERNETES_SERVICE_HOST)');
  });

  it('is undone by the expansion, for any string and any variables', () => {
    const text = fc.array(fc.constantFrom('$', '(', ')', 'HOME', 'A', 'KUBERNETES_X', 'x', ' '), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(
      fc.property(text, (s) => {
        expect(expand(escapeExpansion(s, resolvesIn(env)), lookup)).toBe(s);
        expect(expand(escapeExpansion(s), lookup)).toBe(s);
      }),
      { seed: 7, numRuns: 2000 },
    );
  });
});
