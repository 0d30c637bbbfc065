import type { NetAdmin } from '../host/netAdmin.js';

/** Splits one line of iptables-save output into arguments (double quotes, backslash escapes). */
export function splitRule(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  let any = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted && ch === '\\' && i + 1 < line.length) {
      cur += line[++i];
    } else if (ch === '"') {
      quoted = !quoted;
      any = true;
    } else if (ch === ' ' && !quoted) {
      if (cur || any) out.push(cur);
      cur = '';
      any = false;
    } else {
      cur += ch;
    }
  }
  if (cur || any) out.push(cur);
  return out;
}

/** The nat rules (as -A lines) whose CNI comment names this container id, and the CNI-* chains they jump to or live in. */
export function rulesOf(natSave: string, containerId: string): { rules: string[][]; chains: string[] } {
  const tag = `id: "${containerId}"`;
  const rules: string[][] = [];
  const chains = new Set<string>();
  for (const line of natSave.split('\n')) {
    if (!line.startsWith('-A ')) continue;
    const args = splitRule(line);
    const comment = args[args.indexOf('--comment') + 1];
    if (!args.includes('--comment') || !comment?.includes(tag)) continue;
    rules.push(args);
    const chain = args[1]!;
    if (chain.startsWith('CNI-') && !chain.startsWith('CNI-HOSTPORT-')) chains.add(chain);
    const target = args[args.indexOf('-j') + 1];
    if (args.includes('-j') && target?.startsWith('CNI-') && !target.startsWith('CNI-HOSTPORT-')) chains.add(target);
  }
  return { rules, chains: [...chains] };
}

/**
 * Removes nat rules and chains the CNI plugins made for a container but did not take away on DEL
 * (the bridge plugin of Debian 12 skips its masquerade teardown when the container's interface is
 * already gone). Only rules whose comment carries this container id are touched.
 */
export function sweepNatRules(net: NetAdmin, containerId: string): number {
  const save = net.saveNat();
  if (save === null) return 0;
  const { rules, chains } = rulesOf(save, containerId);
  for (const args of rules.filter((a) => !chains.includes(a[1]!))) net.nat(['-D', ...args.slice(1)]);
  for (const c of chains) {
    net.nat(['-F', c]);
    net.nat(['-X', c]);
  }
  return rules.length;
}
