import { describe, expect, it } from 'vitest';
import { interpolateTree, PathTemplateError, substitute, TemplateError } from '../../reconciler/convert/interpolate.js';

const vars: Record<string, string> = { SET: 'v', EMPTY: '', TAG: '1.2' };
const lookup = (k: string) => vars[k];
const sub = (t: string) => substitute(t, lookup);

describe('substitute (compose interpolation)', () => {
  it('replaces $VAR and ${VAR}, unset ones with a blank string', () => {
    const unset: string[] = [];
    expect(substitute('a-$SET-${SET}-$UNSET-${TAG}x', lookup, (n) => unset.push(n))).toBe('a-v-v--1.2x');
    expect(unset).toEqual(['UNSET']);
  });

  it('knows :- and - defaults, :+ and + alternatives, nested in one another', () => {
    expect(sub('${EMPTY:-d} ${EMPTY-d} ${UNSET-d} ${UNSET:-${TAG}}')).toBe('d  d 1.2');
    expect(sub('${SET:+alt} ${EMPTY:+alt} ${EMPTY+alt} ${UNSET+alt}')).toBe('alt  alt ');
    expect(sub('${UNSET:-${ALSO_UNSET:-deep}}/${SET}')).toBe('deep/v');
  });

  it('makes $$ a literal $', () => {
    expect(sub('echo $$HOME $${SET} $$$SET')).toBe('echo $HOME ${SET} $v');
  });

  it('fails on :? and ? when unset (and :? when empty), and on a $ that starts nothing', () => {
    expect(() => sub('${UNSET:?set it}')).toThrow(/required variable UNSET is missing a value: set it/);
    expect(() => sub('${EMPTY:?no}')).toThrow(TemplateError);
    expect(sub('${EMPTY?no}')).toBe('');
    expect(() => sub('cost: 5$')).toThrow(/a "\$" starts no variable/);
    expect(() => sub('${SET')).toThrow(/never closed/);
    expect(() => sub('${SET BAD}')).toThrow(/invalid interpolation format/);
  });

  it('interpolates the values of a tree, never its keys, and skips what it is told to', () => {
    const tree = { services: { web: { image: 'nginx:${TAG}', 'x-note': '$nope x', environment: ['A=${SET}'] } }, '${SET}': 1 };
    const out = interpolateTree(
      tree,
      lookup,
      () => {},
      (_p, k) => k.startsWith('x-'),
    );
    expect(out).toEqual({ services: { web: { image: 'nginx:1.2', 'x-note': '$nope x', environment: ['A=v'] } }, '${SET}': 1 });
  });

  it('says where in the tree a template fails', () => {
    try {
      interpolateTree(
        { services: { web: { ports: ['${P:?port}'] } } },
        lookup,
        () => {},
        () => false,
      );
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(PathTemplateError);
      expect((e as PathTemplateError).path).toEqual(['services', 'web', 'ports', 0]);
    }
  });
});
