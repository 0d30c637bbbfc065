import { RegistryClient } from './registry/client.js';
import { loadCredentials } from './registry/credentials.js';
import { NodeTransport } from './registry/transport.js';
import { DEFAULT_REGISTRY_SETTINGS, type RegistrySettings } from './registrySettings.js';

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
