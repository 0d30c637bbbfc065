import type { DesiredContainer, SpecError } from './types.js';

/** The problems of a spec dir taken as a whole: each one an error of the files involved. */
export interface CrossProblems {
  errors: SpecError[];
  failedFiles: Set<string>;
  /** What a partial set of files cannot tell for sure (a dependency on a container of another file). */
  warnings: string[];
}

type Claims = Map<string, DesiredContainer[]>;

const claim = (m: Claims, key: string, d: DesiredContainer): void => {
  const list = m.get(key) ?? [];
  if (!list.includes(d)) list.push(d);
  m.set(key, list);
};

/**
 * What only the whole dir can tell: a container name defined twice; a host port published twice;
 * one name or alias claimed by two containers of one network (containers resolve each other by
 * name, hostname and aliases); a dependency on a container no spec of the dir defines, on one
 * without a health check for `healthy`, or a cycle of dependencies. Every problem is an error of
 * each file involved, naming the others; with `partial` (some files of a dir, as `pocker validate
 * FILE` checks them) an unknown dependency is only a warning.
 */
export function crossFileProblems(
  perFile: ReadonlyMap<string, DesiredContainer[]>,
  pathOf: (file: string) => string,
  partial = false,
): CrossProblems {
  const errors: SpecError[] = [];
  const warnings: string[] = [];
  const failedFiles = new Set<string>();
  const fail = (d: DesiredContainer, message: string): void => {
    errors.push({ file: pathOf(d.source.file), line: 1, col: 1, message });
    failedFiles.add(d.source.file);
  };
  const all = [...perFile.values()].flat();
  const byName: Claims = new Map();
  const ports: Claims = new Map();
  const networkNames: Claims = new Map();
  for (const d of all) {
    claim(byName, d.spec.name, d);
    if (d.spec.network.mode !== 'bridge') continue;
    for (const p of d.spec.network.ports) claim(ports, `${p.protocol}/${p.host}`, d);
    for (const n of new Set([d.spec.name, d.spec.hostname, ...d.spec.network.aliases]))
      claim(networkNames, `${d.spec.network.name}\0${n}`, d);
  }
  for (const [name, claims] of byName) {
    if (claims.length < 2) continue;
    const files = claims.map((c) => pathOf(c.source.file));
    for (const c of claims)
      fail(c, `container name "${name}" is also defined in ${files.filter((f) => f !== pathOf(c.source.file)).join(', ')}`);
  }
  for (const [port, claims] of ports) {
    const names = [...new Set(claims.map((c) => c.spec.name))];
    if (names.length < 2) continue;
    for (const c of claims)
      fail(
        c,
        `host port ${port} of "${c.spec.name}" is also published by ${names
          .filter((n) => n !== c.spec.name)
          .map((n) => `"${n}"`)
          .join(', ')}`,
      );
  }
  for (const [key, claims] of networkNames) {
    if (claims.length < 2) continue;
    const [network, n] = key.split('\0') as [string, string];
    for (const c of claims) {
      const others = claims.filter((o) => o !== c).map((o) => `"${o.spec.name}" (${pathOf(o.source.file)})`);
      fail(
        c,
        `the name "${n}" on network ${network} is claimed by "${c.spec.name}" and by ${others.join(', ')}: names, hostnames and aliases must be unique on a network`,
      );
    }
  }
  const known = new Map(all.map((d) => [d.spec.name, d]));
  for (const d of all) {
    for (const dep of d.spec.dependsOn) {
      const target = known.get(dep.name);
      if (!target && partial) warnings.push(`${pathOf(d.source.file)}: dependsOn: "${dep.name}" is not defined in the files checked`);
      else if (!target) fail(d, `dependsOn: "${dep.name}" is not a container of this spec dir`);
      else if (dep.condition === 'healthy' && !target.spec.healthcheck)
        fail(
          d,
          `dependsOn: "${dep.name}" has no healthcheck (${pathOf(target.source.file)}), so it can never be healthy: add one or use condition started`,
        );
    }
  }
  const peerNames = new Set(all.flatMap((d) => [d.spec.name, d.spec.hostname, ...d.spec.network.aliases]));
  for (const d of all) {
    const n = d.spec.network;
    if (!n.ingress.length && !n.egress.length) continue;
    const caps = d.spec.capabilities;
    const netAdmin = (caps.add.includes('ALL') || caps.add.includes('NET_ADMIN')) && !caps.drop.includes('NET_ADMIN');
    if (d.spec.privileged || netAdmin)
      warnings.push(
        `${pathOf(d.source.file)}: "${d.spec.name}" has ${d.spec.privileged ? 'privileged: true' : `capabilities.add ${caps.add.includes('NET_ADMIN') ? 'NET_ADMIN' : 'ALL'}`}: it can lift its own network.ingress/egress rules`,
      );
    for (const r of [...n.ingress, ...n.egress])
      if ('name' in r.peer && !peerNames.has(r.peer.name))
        warnings.push(
          `${pathOf(d.source.file)}: "${d.spec.name}": network rule names "${r.peer.name}", which is not a container of ${partial ? 'the files checked' : 'this spec dir'}: it matches only while a container of that name runs`,
        );
  }
  for (const cycle of dependencyCycles(all)) {
    const text = [...cycle, cycle[0]!].map((c) => c.spec.name).join(' -> ');
    for (const c of cycle)
      fail(c, `dependsOn forms a cycle: ${text} (${[...new Set(cycle.map((x) => pathOf(x.source.file)))].join(', ')})`);
  }
  return { errors, failedFiles, warnings };
}

/** Every cycle of the dependency graph (each as the containers on it, once). */
export function dependencyCycles(all: readonly DesiredContainer[]): DesiredContainer[][] {
  const byName = new Map(all.map((d) => [d.spec.name, d]));
  const state = new Map<string, 'open' | 'done'>();
  const cycles: DesiredContainer[][] = [];
  const stack: DesiredContainer[] = [];
  const visit = (d: DesiredContainer): void => {
    state.set(d.spec.name, 'open');
    stack.push(d);
    for (const dep of d.spec.dependsOn) {
      const t = byName.get(dep.name);
      if (!t) continue;
      if (state.get(t.spec.name) === 'open') cycles.push(stack.slice(stack.indexOf(t)));
      else if (!state.has(t.spec.name)) visit(t);
    }
    stack.pop();
    state.set(d.spec.name, 'done');
  };
  for (const d of all) if (!state.has(d.spec.name)) visit(d);
  return cycles;
}
