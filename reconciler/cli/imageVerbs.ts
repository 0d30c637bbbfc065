import { shortDigest } from '../image/digest.js';
import type { Host } from '../host/host.js';
import { formatSize } from './image.js';
import { UsageError, type Parsed } from './options.js';
import { pullWithProgress } from './pullProgress.js';

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
    import('../image/registrySettings.js'),
    import('../log/logger.js'),
  ]);
  const settings = cmd.config.registries;
  const results = await updateImages({
    host,
    dirs: cmd.dirs,
    secretsDir: cmd.secretsDir,
    driver: detectDriver(host, cmd.dirs.cgroupParent),
    client: registryClientFactory(settings)(),
    concurrency: settings.concurrency,
    timeouts: cmd.timeouts,
    log: createLogger(cmd.logLevel),
    ...(rest.length && { names: rest }),
  });
  if (!results.length) console.log('no container runs a registry image');
  for (const r of results) {
    const move = r.to && r.to !== r.from ? ` ${shortDigest(r.from)} -> ${shortDigest(r.to)}` : r.from ? ` ${shortDigest(r.from)}` : '';
    console.log(`${r.name}: ${r.outcome}${r.reference ? ` ${r.reference}` : ''}${move}: ${r.message}`);
  }
  return results.some((r) => r.outcome === 'failed') ? 1 : 0;
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
