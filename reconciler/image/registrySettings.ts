import { RegistryClient } from './registry/client.js';
import { loadCredentials } from './registry/credentials.js';
import { NodeTransport } from './registry/transport.js';

/** How registry images are pulled (the instance config's `registries` section). */
export interface RegistrySettings {
  /** Registries reached over plain HTTP besides localhost, 127.0.0.0/8 and ::1. */
  insecure: string[];
  /** Mirrors per registry, tried in order before it. */
  mirrors: Record<string, string[]>;
  /** A CA file per registry, trusted besides the system's. */
  caFiles: Record<string, string>;
  /** Layers downloaded at once. */
  concurrency: number;
  /** One request. */
  timeoutMs: number;
}

/** Registry settings when the config has none. */
export const DEFAULT_REGISTRY_SETTINGS: RegistrySettings = { insecure: [], mirrors: {}, caFiles: {}, concurrency: 3, timeoutMs: 30_000 };

/**
 * Makes the registry client of these settings on first use (reading the credential files then,
 * not at start-up): plain HTTP for the insecure registries, the mirrors, the extra CA files.
 */
export function registryClientFactory(settings: RegistrySettings = DEFAULT_REGISTRY_SETTINGS): () => RegistryClient {
  let client: RegistryClient | undefined;
  return () =>
    (client ??= new RegistryClient({
      transport: new NodeTransport({ caFiles: settings.caFiles }),
      credentials: loadCredentials(),
      insecure: settings.insecure,
      mirrors: settings.mirrors,
      timeoutMs: settings.timeoutMs,
    }));
}
