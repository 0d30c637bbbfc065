import { describe, expect, it } from 'vitest';
import { shellSplit } from '../../reconciler/convert/shellwords.js';

describe('shellSplit (go-shellwords, as compose splits command strings)', () => {
  it('splits on blanks and groups quoted words', () => {
    expect(shellSplit('bundle exec  thin -p 3000')).toEqual({ words: ['bundle', 'exec', 'thin', '-p', '3000'] });
    expect(shellSplit(`sh -c "echo 'hi there' && exit 0"`)).toEqual({ words: ['sh', '-c', "echo 'hi there' && exit 0"] });
    expect(shellSplit(`a 'b  c' "" d"e f"g`)).toEqual({ words: ['a', 'b  c', '', 'de fg'] });
  });

  it('takes backslash escapes (\\t and \\n included) outside single quotes', () => {
    expect(shellSplit(String.raw`a\ b c\tq "x\"y" 'p\q'`)).toEqual({ words: ['a b', 'c\tq', 'x"y', 'p\\q'] });
  });

  it('stops at an unquoted shell operator, keeping the words before it', () => {
    expect(shellSplit('echo a; echo b')).toEqual({ words: ['echo', 'a'], operator: ';' });
    expect(shellSplit('run && done')).toEqual({ words: ['run'], operator: '&' });
    expect(shellSplit('app 2>/dev/null')).toEqual({ words: ['app'], operator: '>' });
    expect(shellSplit('echo "a;b" | wc')).toEqual({ words: ['echo', 'a;b'], operator: '|' });
  });

  it('refuses unbalanced quotes and parentheses', () => {
    expect(shellSplit('echo "open')).toHaveProperty('error');
    expect(shellSplit("echo 'open")).toHaveProperty('error');
    expect(shellSplit('echo (x)')).toHaveProperty('error');
    expect(shellSplit('echo $(date)')).toEqual({ words: ['echo', '$(date)'] });
  });
});
