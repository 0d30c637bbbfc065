/**
 * `entrypoint` → `command`, `command` → `args` (Kubernetes' rules, which are Docker's: an
 * entrypoint replaces the image's Entrypoint and drops its Cmd; a command replaces its Cmd). A
 * string is split into words as compose splits it, never run through a shell.
 */
import type { ServiceContext } from './context.js';
import { shellSplit } from './shellwords.js';
import { describe, scalarString } from './values.js';

/** A compose command value as argv: null when absent, [] when written empty (it clears the image's). */
function argv(ctx: ServiceContext, key: 'entrypoint' | 'command'): string[] | null {
  const raw = ctx.def[key];
  if (raw === undefined || raw === null) return null;
  if (Array.isArray(raw)) {
    return raw.map((w, i) => {
      const s = scalarString(w);
      if (s === null) throw ctx.invalid([key, i], `${key} is a string or a list of strings, not a list holding ${describe(w)}`);
      return s;
    });
  }
  const s = scalarString(raw);
  if (s === null) throw ctx.invalid([key], `${key} is a string or a list of strings, not ${describe(raw)}`);
  const split = shellSplit(s);
  if ('error' in split) throw ctx.invalid([key], split.error);
  if (split.operator)
    ctx.lose(
      key,
      `${JSON.stringify(s)} holds the shell operator "${split.operator}", where compose stops reading: it runs [${split.words.map((w) => JSON.stringify(w)).join(', ')}]; for a shell, write [sh, -c, "..."]`,
    );
  return split.words;
}

/** The spec's command and args. */
export function convertCommand(ctx: ServiceContext): { command?: string[]; args?: string[] } {
  const entrypoint = argv(ctx, 'entrypoint');
  const command = argv(ctx, 'command');
  if (entrypoint !== null && entrypoint.length === 0) {
    if (command !== null && command.length > 0 && command[0] !== '') return { command };
    ctx.lose(
      'entrypoint',
      "an empty entrypoint runs the image's Cmd without its Entrypoint, which a spec cannot say without naming the Cmd: the image's Entrypoint is kept",
    );
    return command === null ? {} : { args: [] };
  }
  if (entrypoint?.[0] === '') {
    ctx.lose('entrypoint', "the program is empty: the image's Entrypoint is kept");
    return command === null ? {} : { args: command };
  }
  return { ...(entrypoint !== null && { command: entrypoint }), ...(command !== null && { args: command }) };
}
