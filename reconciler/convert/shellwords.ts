/**
 * Splits a command string into words the way compose does (mattn/go-shellwords, without
 * environment or backtick expansion): blanks separate words; single quotes are literal; double
 * quotes group; a backslash escapes the next character (`\t`, `\n` give a tab, a newline) except
 * inside single quotes. Compose stops at the first unquoted `;`, `&`, `|`, `<` or `>` and keeps
 * the words before it: `operator` says where it stopped, so convert can report it.
 */

/** The words of a command string, and the shell operator the split stopped at, if any. */
export type ShellSplit = { words: string[]; operator?: string } | { error: string };

const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';

/** Splits one command string. */
export function shellSplit(line: string): ShellSplit {
  const words: string[] = [];
  let buf = '';
  let got = false;
  let escaped = false;
  let single = false;
  let double = false;
  let backQuote = false;
  let dollarQuote = false;
  let operator: string | undefined;
  const invalid = { error: `${JSON.stringify(line)} is not a valid command line (unbalanced quotes or parentheses)` };
  loop: for (const c of line) {
    if (escaped) {
      escaped = false;
      buf += backQuote || dollarQuote ? `\\${c}` : c === 't' ? '\t' : c === 'n' ? '\n' : c;
      got = true;
      continue;
    }
    if (c === '\\') {
      if (single) buf += c;
      else escaped = true;
      continue;
    }
    if (isSpace(c)) {
      if (single || double || backQuote || dollarQuote) buf += c;
      else if (got) {
        words.push(buf);
        buf = '';
        got = false;
      }
      continue;
    }
    const quoted = single || double || backQuote || dollarQuote;
    switch (c) {
      case '`':
        if (!single && !double && !dollarQuote) backQuote = !backQuote;
        break;
      case ')':
        if (!single && !double && !backQuote) {
          if (!dollarQuote) return invalid;
          buf += c;
          dollarQuote = false;
          got = true;
          continue;
        }
        break;
      case '(':
        if (!single && !double && !backQuote) {
          if (dollarQuote || !buf.endsWith('$') || buf.endsWith('\\$')) return invalid;
          dollarQuote = true;
          buf += c;
          continue;
        }
        break;
      case '"':
        if (!single && !dollarQuote && !backQuote) {
          if (double) got = true;
          double = !double;
          continue;
        }
        break;
      case "'":
        if (!double && !dollarQuote && !backQuote) {
          if (single) got = true;
          single = !single;
          continue;
        }
        break;
      case ';':
      case '&':
      case '|':
      case '<':
      case '>':
        if (!quoted) {
          if (c === '>' && /^[0-9]+$/.test(buf)) got = false;
          operator = c;
          break loop;
        }
        break;
    }
    got = true;
    buf += c;
  }
  if (got) words.push(buf);
  if (escaped || single || double || backQuote || dollarQuote) return invalid;
  return operator === undefined ? { words } : { words, operator };
}
