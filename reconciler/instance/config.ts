import { readFileSync } from 'node:fs';
import type { Document } from 'yaml';
import { parseDuration } from '../spec/duration.js';
import { translateSchemaErrors } from '../spec/schemaErrors.js';
import { schemaValidator } from '../spec/schemaValidator.js';
import { formatSpecError, type SpecError } from '../spec/types.js';
import { locate, yaml } from '../spec/yamlLocate.js';
import type { InstanceDirs } from '../state/layout.js';
import { DEFAULT_TIMEOUTS, type Timeouts } from '../host/timeouts.js';
import { DEFAULT_REGISTRY_SETTINGS, type RegistrySettings } from '../image/registrySettings.js';
import { DEFAULT_JOURNAL_POLICY, type JournalPolicy } from '../state/eventJournal.js';
import type { EventType } from '../state/events.js';
import { parseQuantity } from '../spec/quantity.js';

/** Where the instance config is read from when --config does not say. */
export const DEFAULT_CONFIG_PATH = '/etc/pocker/pocker.yaml';

/** The instance config (schema/instance.v1.schema.json); absent keys take the defaults, flags override it. */
export interface InstanceConfig {
  /** The file it was read from, or null when there was none. */
  path: string | null;
  specDir?: string;
  dirs: Partial<InstanceDirs>;
  /** Where secrets are read from. */
  secretsDir?: string;
  timeouts: Timeouts;
  registries: RegistrySettings;
  /** How the events journal is rotated. */
  events: JournalPolicy;
  /** Where the watching controller serves metrics and its status page, if anywhere. */
  metrics?: { address: string; allowRemote: boolean };
  /** The hook run for events. */
  notify?: { exec: string; on?: EventType[]; timeoutMs?: number };
  /** The entry of /etc/subuid and /etc/subgid the user namespaces of `userns: auto` come from (default "pocker"). */
  usernsPool?: string;
}

/** A config file pocker cannot use: every problem as file:line:col. */
export class ConfigError extends Error {
  readonly code = 'CONFIG';
  constructor(readonly errors: SpecError[]) {
    super(errors.map(formatSpecError).join('\n'));
    this.name = 'ConfigError';
  }
}

interface RawConfig {
  specDir?: string;
  stateDir?: string;
  dataDir?: string;
  cgroupParent?: string;
  secretsDir?: string;
  timeouts?: { cni?: string; monitor?: string; lock?: string };
  registries?: {
    insecure?: string[];
    mirrors?: Record<string, string[]>;
    ca?: Record<string, string>;
    concurrency?: number;
    timeout?: string;
  };
  metrics?: { address: string; allowRemote?: boolean };
  events?: { maxSize?: number | string; maxFiles?: number };
  notify?: { exec: string; on?: EventType[]; timeout?: string };
  userns?: { pool?: string };
}

/** Parses the text of an instance config; every problem is located (file:line:col). */
export function parseInstanceConfig(text: string, path: string): InstanceConfig {
  const lc = new (yaml().LineCounter)();
  const doc = yaml().parseDocument(text, { lineCounter: lc, prettyErrors: true, uniqueKeys: true, strict: true }) as Document;
  if (doc.errors.length) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = e.linePos?.[0] ?? lc.linePos(e.pos[0]);
        return { file: path, line: pos.line, col: pos.col, message: e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '') };
      }),
    );
  }
  const value = (doc.toJS({ maxAliasCount: 100 }) ?? {}) as unknown;
  const validate = schemaValidator('instance.v1');
  if (!validate(value))
    throw new ConfigError(translateSchemaErrors(validate.errors ?? [], value, 'instance.v1').map((e) => locate(doc, lc, path, e)));
  const raw = value as RawConfig;
  const timeouts = { ...DEFAULT_TIMEOUTS };
  const errors: SpecError[] = [];
  for (const [key, field] of [
    ['cni', 'cniMs'],
    ['monitor', 'monitorMs'],
    ['lock', 'lockMs'],
  ] as const) {
    const v = raw.timeouts?.[key];
    if (v === undefined) continue;
    const d = parseDuration(v);
    if ('error' in d) errors.push(locate(doc, lc, path, { path: ['timeouts', key], message: `timeouts.${key}: ${d.error}` }));
    else if (d.ms < 100) errors.push(locate(doc, lc, path, { path: ['timeouts', key], message: `timeouts.${key} must be at least 100ms` }));
    else timeouts[field] = d.ms;
  }
  const r = raw.registries;
  const registries: RegistrySettings = {
    insecure: [...(r?.insecure ?? [])],
    mirrors: { ...r?.mirrors },
    caFiles: { ...r?.ca },
    concurrency: r?.concurrency ?? DEFAULT_REGISTRY_SETTINGS.concurrency,
    timeoutMs: DEFAULT_REGISTRY_SETTINGS.timeoutMs,
  };
  if (r?.timeout !== undefined) {
    const d = parseDuration(r.timeout);
    if ('error' in d) errors.push(locate(doc, lc, path, { path: ['registries', 'timeout'], message: `registries.timeout: ${d.error}` }));
    else if (d.ms < 100)
      errors.push(locate(doc, lc, path, { path: ['registries', 'timeout'], message: 'registries.timeout must be at least 100ms' }));
    else registries.timeoutMs = d.ms;
  }
  const events = { ...DEFAULT_JOURNAL_POLICY, ...(raw.events?.maxFiles !== undefined && { maxFiles: raw.events.maxFiles }) };
  if (raw.events?.maxSize !== undefined) {
    const q = parseQuantity(String(raw.events.maxSize));
    if ('error' in q) errors.push(locate(doc, lc, path, { path: ['events', 'maxSize'], message: `events.maxSize: ${q.error}` }));
    else if (q.bytes < 4096)
      errors.push(locate(doc, lc, path, { path: ['events', 'maxSize'], message: 'events.maxSize must be at least 4Ki' }));
    else events.maxBytes = q.bytes;
  }
  let notifyTimeoutMs: number | undefined;
  if (raw.notify?.timeout !== undefined) {
    const d = parseDuration(raw.notify.timeout);
    if ('error' in d) errors.push(locate(doc, lc, path, { path: ['notify', 'timeout'], message: `notify.timeout: ${d.error}` }));
    else if (d.ms < 100)
      errors.push(locate(doc, lc, path, { path: ['notify', 'timeout'], message: 'notify.timeout must be at least 100ms' }));
    else notifyTimeoutMs = d.ms;
  }
  if (errors.length) throw new ConfigError(errors);
  return {
    registries,
    events,
    ...(raw.metrics && { metrics: { address: raw.metrics.address, allowRemote: !!raw.metrics.allowRemote } }),
    ...(raw.notify && {
      notify: {
        exec: raw.notify.exec,
        ...(raw.notify.on && { on: raw.notify.on }),
        ...(notifyTimeoutMs !== undefined && { timeoutMs: notifyTimeoutMs }),
      },
    }),
    path,
    ...(raw.userns?.pool !== undefined && { usernsPool: raw.userns.pool }),
    ...(raw.specDir !== undefined && { specDir: raw.specDir }),
    ...(raw.secretsDir !== undefined && { secretsDir: raw.secretsDir }),
    dirs: {
      ...(raw.stateDir !== undefined && { stateDir: raw.stateDir }),
      ...(raw.dataDir !== undefined && { dataDir: raw.dataDir }),
      ...(raw.cgroupParent !== undefined && { cgroupParent: raw.cgroupParent }),
    },
    timeouts,
  };
}

/**
 * Reads the instance config at path. A missing file is no config (the defaults) unless the user
 * named it (`required`); a file that does not parse or validate is an error either way.
 */
export function loadInstanceConfig(path: string, required: boolean): InstanceConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && !required)
      return {
        path: null,
        dirs: {},
        timeouts: { ...DEFAULT_TIMEOUTS },
        registries: { ...DEFAULT_REGISTRY_SETTINGS },
        events: { ...DEFAULT_JOURNAL_POLICY },
      };
    throw new ConfigError([{ file: path, line: 1, col: 1, message: `cannot read the instance config: ${code ?? (e as Error).message}` }]);
  }
  return parseInstanceConfig(text, path);
}
