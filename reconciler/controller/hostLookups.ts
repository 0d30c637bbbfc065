import type { HostReader } from '../host/host.js';
import { imageResolver } from '../image/resolve.js';
import type { HostLookups, Trust } from '../spec/load.js';
import { hostContentReader } from '../state/contentReader.js';
import { DEFAULT_SECRETS_DIR } from '../state/layout.js';

/**
 * What a controller's load looks up on this host: images in the data dir's store (a container's
 * pin wins unless ignorePins names it; forcePins pins some to a digest of their own), file sources, and secrets of secretsDir (default
 * /etc/pocker/secrets) with digests keyed by the data dir's secret key.
 */
export function hostLookups(
  host: HostReader,
  o: {
    dataDir: string;
    secretsDir?: string | undefined;
    trust?: Trust | undefined;
    ignorePins?: ReadonlySet<string>;
    forcePins?: ReadonlyMap<string, string>;
  },
): HostLookups {
  return {
    images: imageResolver(host, o.dataDir, {
      ...(o.ignorePins && { ignorePins: o.ignorePins }),
      ...(o.forcePins && { forcePins: o.forcePins }),
    }),
    contents: hostContentReader({
      dataDir: o.dataDir,
      secretsDir: o.secretsDir ?? DEFAULT_SECRETS_DIR,
      ...(o.trust && { trust: o.trust }),
    }),
  };
}
