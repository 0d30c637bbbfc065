/**
 * Kubernetes expands `$(NAME)` in a container's command, args, env values and exec probes with
 * the container's variables (an unknown NAME stays as written) and reduces `$$` to `$`; pocker
 * passes argv and values as written. Export escapes what Kubernetes would change; import expands
 * as Kubernetes does, so both read the same strings.
 */

/**
 * The string Kubernetes expands back to `s`: every `$` before a `$` doubled, and the `$` of each
 * `$(NAME)` that would resolve (`defined`; every one when not given); a `$(NAME)` that stays as
 * written is kept as it is.
 */
export function escapeExpansion(s: string, defined: (name: string) => boolean = () => true): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const next = s[i + 1]!;
    const close = next === '(' ? s.indexOf(')', i + 2) : -1;
    if (close >= 0 && !defined(s.slice(i + 2, close))) {
      out += s.slice(i, close + 1);
      i = close;
    } else out += next === '$' || close >= 0 ? '$$' : '$';
  }
  return out;
}

/** Whether Kubernetes resolves `$(name)` in a container whose env holds `env`: its variables, and the API server's (KUBERNETES_…), which every Pod gets. */
export function resolvesIn(env: Readonly<Record<string, string>> | undefined): (name: string) => boolean {
  return (name) => (env !== undefined && Object.hasOwn(env, name)) || name.startsWith('KUBERNETES_');
}

/** `s` as Kubernetes expands it with `lookup` (its `third_party/forked/golang/expansion` rules). */
export function expand(s: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (c !== '$' || i + 1 >= s.length) {
      out += c;
      i++;
      continue;
    }
    const next = s[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = s.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 2;
        continue;
      }
      const name = s.slice(i + 2, close);
      out += lookup(name) ?? `$(${name})`;
      i = close + 1;
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}
