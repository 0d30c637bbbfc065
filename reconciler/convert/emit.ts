/** Converted specs as YAML spec files. */
import { yaml } from '../spec/yamlLocate.js';
import type { ConvertedSpec, SpecDocument } from './types.js';

/** The order keys are written in: identity, what runs, what it gets, how it lives. */
const KEY_ORDER: ReadonlyArray<keyof SpecDocument> = [
  'apiVersion',
  'name',
  'hostname',
  'image',
  'pull',
  'command',
  'args',
  'env',
  'workingDir',
  'user',
  'resources',
  'network',
  'mounts',
  'volumes',
  'tmpfs',
  'files',
  'secrets',
  'restart',
  'stopGracePeriod',
  'stopSignal',
  'dependsOn',
  'healthcheck',
  'privileged',
  'capabilities',
  'readOnlyRootfs',
  'tty',
];

/** The spec with its keys in KEY_ORDER. */
export function ordered(spec: SpecDocument): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of KEY_ORDER) if (spec[k] !== undefined) out[k] = spec[k];
  return out;
}

/**
 * One spec file's text: a comment naming where it comes from, then the spec. Strings YAML 1.1
 * would read as something else (yes, on, 0755) are quoted, so no reader mistakes them.
 */
export function renderSpec(c: ConvertedSpec, composePath: string, project: string): string {
  const doc = new (yaml().Document)(ordered(c.spec), { compat: 'yaml-1.1' });
  const line = (s: string): string => s.replace(/[\r\n]/g, '?');
  doc.commentBefore = line(` Converted by pocker convert from ${composePath}, service "${c.service}" of project "${project}".`);
  return doc.toString({ lineWidth: 0 });
}

/** Every spec in one YAML stream, documents separated by `---` (what `pocker convert` prints without -o). */
export function renderStream(specs: readonly ConvertedSpec[], composePath: string, project: string): string {
  return specs.map((c) => renderSpec(c, composePath, project)).join('---\n');
}
