import { describe, expect, it } from 'vitest';
import { DotenvError, parseDotenv } from '../../reconciler/convert/dotenv.js';

const env =
  (vars: Record<string, string> = {}) =>
  (k: string) =>
    vars[k];
const parse = (text: string, vars: Record<string, string> = {}) => Object.fromEntries(parseDotenv(text, env(vars)));

describe('parseDotenv (compose-go dotenv rules)', () => {
  it('reads KEY=VALUE lines, export prefixes, comments and blank lines', () => {
    expect(parse('# a comment\n\nA=1\nexport B=two\n  C = three  \nD: yaml-style\n')).toEqual({
      A: '1',
      B: 'two',
      C: 'three',
      D: 'yaml-style',
    });
  });

  it('ends an unquoted value at " #" only, and trims trailing blanks', () => {
    expect(parse('A=x # comment\nB=x#not-a-comment\nC=http://h/#frag  \nD=\n')).toEqual({
      A: 'x',
      B: 'x#not-a-comment',
      C: 'http://h/#frag',
      D: '',
    });
  });

  it('keeps single-quoted values literal and unescapes double-quoted ones, across lines', () => {
    expect(
      parse(`A='$HOME \\n x'\nB="a\\tb\\n\\"c\\" \\\\ \\$lit"\nC="line1\nline2"\nD='it\\'s'\nE="x" # after\n`, { HOME: '/h' }),
    ).toEqual({
      A: '$HOME \\n x',
      B: 'a\tb\n"c" \\ $lit',
      C: 'line1\nline2',
      D: "it's",
      E: 'x',
    });
  });

  it('interpolates unquoted and double-quoted values: the lookup first, then earlier keys of the file', () => {
    expect(parse('A=file\nB=${A}-$A\nC="${MISSING:-dflt}"\nD=${SHELL_ONLY}\n', { SHELL_ONLY: 'sh' })).toEqual({
      A: 'file',
      B: 'file-file',
      C: 'dflt',
      D: 'sh',
    });
    expect(parse('A=file\nB=${A}\n', { A: 'shell' }).B).toBe('shell');
  });

  it('gives a bare KEY the lookup value, or leaves it out', () => {
    expect(parse('SET\nUNSET\nLAST', { SET: 'v', LAST: 'l' })).toEqual({ SET: 'v', LAST: 'l' });
  });

  it('tells unset variables and skips a byte-order mark', () => {
    const unset: string[] = [];
    expect(Object.fromEntries(parseDotenv('\ufeffA=${NOPE}x\n', env(), (n) => unset.push(n)))).toEqual({ A: 'x' });
    expect(unset).toEqual(['NOPE']);
  });

  it('refuses what compose refuses, with the line', () => {
    const err = (text: string) => {
      try {
        parseDotenv(text, env());
        return null;
      } catch (e) {
        return e instanceof DotenvError ? `${e.line}: ${e.message}` : String(e);
      }
    };
    expect(err('A=1\nB C=2\n')).toMatch(/^2: .*cannot contain a space/);
    expect(err('A=1\n\nB="open\n')).toMatch(/^3: .*unterminated quoted value/);
    expect(err('A$=1\n')).toMatch(/^1: .*unexpected character "\$"/);
    expect(err('A=${B:?needed}\n')).toMatch(/^1: .*required variable B is missing a value: needed/);
  });
});
