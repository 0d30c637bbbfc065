import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { table } from './table.js';
import type { KnownSpecs } from '../controller/knownSpecs.js';

export const VOLUME_HELP = `Usage: pocker volume ls [-o table|json]
       pocker volume inspect NAME
       pocker volume rm NAME...
       pocker volume prune

Named volumes of this instance: a spec's "volumes: [{name: data, target: /data}]" mounts
<data-dir>/volumes/data at /data, creating it (empty, 0755 root:root) on the first start. A
volume is shared by every container that names it and outlives them: recreating or removing a
container never touches it.

ls       Lists the volumes: NAME, USED BY (containers of this instance whose volumes name it),
         NAMED BY (specs of the spec dirs this instance has reconciled).
inspect  One volume as JSON: name, path, usedBy, namedBy.
rm       Removes the named volumes and everything in them. Refused, removing none, when one is
         used by a container or named by a spec this instance knows, or when a spec dir it
         knows cannot be read whole.
prune    Removes every volume no container uses and no known spec names (nothing when a known
         spec dir cannot be read whole).

${GLOBAL_HELP}`;

/** Who uses and names each volume (by volume name). */
function usage(known: Extract<KnownSpecs, { actual: unknown }>): { usedBy: Map<string, string[]>; namedBy: Map<string, string[]> } {
  const usedBy = new Map<string, string[]>();
  const namedBy = new Map<string, string[]>();
  const add = (m: Map<string, string[]>, k: string, v: string): void => {
    const l = m.get(k) ?? [];
    if (!l.includes(v)) l.push(v);
    m.set(k, l);
  };
  for (const a of known.actual.containers.values()) for (const v of a.record?.spec.volumes ?? []) add(usedBy, v.name, a.name);
  for (const d of known.desired) for (const v of d.spec.volumes) add(namedBy, v.name, `${d.source.file} (${d.spec.name})`);
  return { usedBy, namedBy };
}

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { output: { type: 'string', short: 'o' } }, true);
  if (cmd.values.help) {
    console.log(VOLUME_HELP);
    return 0;
  }
  const [verb, ...rest] = cmd.positionals;
  const output = (cmd.values as { output?: string }).output;
  if (output !== undefined && verb !== 'ls') throw new UsageError('-o is an option of volume ls');
  if (verb !== 'ls' && verb !== 'inspect' && verb !== 'rm' && verb !== 'prune')
    throw new UsageError(
      verb === undefined ? 'a subcommand is needed (ls, inspect, rm or prune)' : `unknown subcommand "${verb}" (ls, inspect, rm or prune)`,
    );
  if ((verb === 'ls' || verb === 'prune') && rest.length) throw new UsageError(`usage: pocker volume ${verb}`);
  if (verb === 'inspect' && rest.length !== 1) throw new UsageError('usage: pocker volume inspect NAME');
  if (verb === 'rm' && !rest.length) throw new UsageError('usage: pocker volume rm NAME...');
  const { NodeHost } = await import('../host/nodeHost.js');
  const { detectDriver } = await import('../cgroups/detect.js');
  const { knownSpecs } = await import('../controller/knownSpecs.js');
  const { listVolumes, removeVolume } = await import('../state/volumes.js');
  const host = new NodeHost();
  const known = knownSpecs(host, cmd.dirs, detectDriver(host, cmd.dirs.cgroupParent));
  if ('error' in known) {
    if (verb === 'rm' || verb === 'prune') {
      console.error(`pocker volume ${verb}: ${known.error}: nothing is removed`);
      return 1;
    }
    console.error(`pocker volume ${verb}: ${known.error}: NAMED BY is incomplete`);
  }
  const { usedBy, namedBy } =
    'error' in known ? { usedBy: new Map<string, string[]>(), namedBy: new Map<string, string[]>() } : usage(known);
  const volumes = listVolumes(host, cmd.dirs);
  const described = volumes.map((v) => ({ ...v, usedBy: usedBy.get(v.name) ?? [], namedBy: namedBy.get(v.name) ?? [] }));
  if (verb === 'ls') {
    if (output === 'json') console.log(JSON.stringify(described, null, 2));
    else if (output === undefined || output === 'table')
      console.log(
        table(
          ['NAME', 'USED BY', 'NAMED BY'],
          described.map((v) => [v.name, v.usedBy.join(',') || '-', v.namedBy.join(', ') || '-']),
        ),
      );
    else throw new UsageError('-o must be table or json');
    return 0;
  }
  if (verb === 'inspect') {
    const v = described.find((x) => x.name === rest[0]);
    if (!v) {
      console.error(`pocker volume inspect: no volume ${rest[0]}`);
      return 1;
    }
    console.log(JSON.stringify(v, null, 2));
    return 0;
  }
  const { prepareInstance } = await import('../instance/privateDirs.js');
  const { createLogger } = await import('../log/logger.js');
  prepareInstance(host, cmd.dirs, createLogger(cmd.logLevel));
  const targets = verb === 'rm' ? rest : described.filter((v) => !v.usedBy.length && !v.namedBy.length).map((v) => v.name);
  const refusals: string[] = [];
  for (const name of targets) {
    const v = described.find((x) => x.name === name);
    if (!v) refusals.push(`no volume ${name}`);
    else if (v.usedBy.length) refusals.push(`${name} is used by ${v.usedBy.join(', ')}`);
    else if (v.namedBy.length) refusals.push(`${name} is named by ${v.namedBy.join(', ')}`);
  }
  if (refusals.length) {
    console.error(`pocker volume ${verb}: nothing is removed: ${refusals.join('; ')}`);
    return 1;
  }
  for (const name of targets) removeVolume(host, cmd.dirs, name);
  console.log(targets.length ? `removed ${targets.join(', ')}` : 'no volume is unused');
  return 0;
}
