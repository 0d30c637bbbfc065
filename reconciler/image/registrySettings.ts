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
