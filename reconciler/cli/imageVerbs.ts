import { shortDigest } from '../spec/digest.js';
import type { Host } from '../host/host.js';
import { formatSize } from '../spec/quantity.js';
import { UsageError, type Parsed } from './options.js';
import { pullWithProgress } from './pullProgress.js';
import { eventJournal } from './journal.js';

/** `pocker image pull REF`. */
export async function pull(host: Host, cmd: Parsed<unknown>, rest: string[]): Promise<number> {
  if (rest.length !== 1) throw new UsageError('usage: pocker image pull REF');
  const r = await pullWithProgress(host, cmd.dirs, rest[0]!, cmd.config.registries);
  const fresh = r.layers.filter((l) => !l.reused);
  const bytes = fresh.reduce((n, l) => n + l.downloaded, 0);
  console.log(
    `pulled ${r.reference} ${r.manifest}${r.repoDigest && r.repoDigest !== r.manifest ? ` (index ${r.repoDigest})` : ''}: ${r.layers.length} layer(s), ${fresh.length} downloaded (${formatSize(bytes)}), ${formatSize(r.size)} unpacked, in ${(r.ms / 1000).toFixed(2)} s`,
  );
  if (r.replaced)
    console.log(`${r.reference} named ${r.replaced} before; containers stay on their pinned digest until pocker image update`);
  if (r.removedLayers.length)
    console.log(`removed ${r.removedLayers.length} unused layer(s): ${r.removedLayers.map(shortDigest).join(', ')}`);
  return 0;
}

/** `pocker image update [NAME...]`. */
export async function update(host: Host, cmd: Parsed<unknown>, rest: string[]): Promise<number> {
  const [{ detectDriver }, { updateImages }, { registryClientFactory }, { createLogger }] = await Promise.all([
    import('../cgroups/detect.js'),
    import('../controller/imageUpdate.js'),
    import('../image/registryClients.js'),
    import('../log/logger.js'),
  ]);
  const settings = cmd.config.registries;
  const { observe } = await import('../observe/observe.js');
  const { autoUpdateNow } = await import('../controller/imageUpdate.js');
  const driver = detectDriver(host, cmd.dirs.cgroupParent);
  const o = {
    host,
    dirs: cmd.dirs,
    secretsDir: cmd.secretsDir,
    driver,
    client: registryClientFactory(settings)(),
    concurrency: settings.concurrency,
    timeouts: cmd.timeouts,
    log: createLogger(cmd.logLevel),
    ...(cmd.config.usernsPool && { usernsPool: cmd.config.usernsPool }),
  };
  const events = eventJournal(cmd, 'pocker image update', o.log);
  const actual = observe(host, cmd.dirs, driver);
  const named = rest.length ? rest : [...actual.containers.values()].filter((a) => a.record?.spec.image).map((a) => a.name);
  const auto = named.filter((n) => actual.containers.get(n)?.record?.spec.autoUpdate);
  let failed = false;
  for (const name of auto) {
    const r = await autoUpdateNow({ ...o, events, name, progress: (line) => console.error(`${name}: ${line}`) });
    console.log(`${name}: ${r.ok ? 'ok' : 'failed'}: ${r.message}`);
    failed ||= !r.ok;
  }
  const others = named.filter((n) => !auto.includes(n));
  const results = others.length ? await updateImages({ ...o, events, names: others }) : [];
  if (!results.length && !auto.length) console.log('no container runs a registry image');
  for (const r of results) {
    const move = r.to && r.to !== r.from ? ` ${shortDigest(r.from)} -> ${shortDigest(r.to)}` : r.from ? ` ${shortDigest(r.from)}` : '';
    console.log(`${r.name}: ${r.outcome}${r.reference ? ` ${r.reference}` : ''}${move}: ${r.message}`);
  }
  return failed || results.some((r) => r.outcome === 'failed') ? 1 : 0;
}

/** `pocker image updates [-o table|json]`. */
export async function updates(host: Host, cmd: Parsed<unknown>, rest: string[], output: 'table' | 'json'): Promise<number> {
  if (rest.length) throw new UsageError('usage: pocker image updates [-o table|json]');
  const [{ detectDriver }, { previewUpdates }, { registryClientFactory }, { table }] = await Promise.all([
    import('../cgroups/detect.js'),
    import('../controller/imageUpdate.js'),
    import('../image/registryClients.js'),
    import('./table.js'),
  ]);
  const rows = await previewUpdates({
    host,
    dirs: cmd.dirs,
    driver: detectDriver(host, cmd.dirs.cgroupParent),
    client: registryClientFactory(cmd.config.registries)(),
  });
  if (output === 'json') {
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  if (!rows.length) {
    console.log('no container has autoUpdate');
    return 0;
  }
  console.log(
    table(
      ['NAME', 'REFERENCE', 'RUNS', 'TAG NAMES', 'ACTION', 'WHY'],
      rows.map((r) => [r.name, r.reference, shortDigest(r.pinned), r.current ? shortDigest(r.current) : '-', r.action, r.message]),
    ),
  );
  return rows.some((r) => r.action === 'failed') ? 1 : 0;
}

/** `pocker image prune`. */
export async function prune(host: Host, cmd: Parsed<unknown>, rest: string[]): Promise<number> {
  if (rest.length) throw new UsageError('usage: pocker image prune');
  const [{ detectDriver }, { knownSpecs }, { pruneImages }] = await Promise.all([
    import('../cgroups/detect.js'),
    import('../controller/knownSpecs.js'),
    import('../image/prune.js'),
  ]);
  const known = knownSpecs(host, cmd.dirs, detectDriver(host, cmd.dirs.cgroupParent));
  if ('error' in known) {
    console.error(`pocker image prune: ${known.error}: nothing is pruned`);
    return 1;
  }
  const refs = new Set<string>();
  for (const d of known.desired) {
    const image = d.user.image;
    if ('reference' in image) refs.add(image.reference);
    else if ('ref' in image) refs.add(image.ref);
  }
  const r = await pruneImages(host, cmd.dirs, refs);
  if (r.keptBecause) {
    console.log(`nothing pruned: ${r.keptBecause}`);
    return 1;
  }
  console.log(
    `removed ${r.removedRefs.length} reference(s)${r.removedRefs.length ? `: ${r.removedRefs.join(', ')}` : ''}; ${r.removedLayers.length} layer(s) removed; ${r.keptRefs.length} in use kept`,
  );
  return 0;
}
