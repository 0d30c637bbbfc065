/** Exported objects as Kubernetes YAML: one document per object, `---` between them. */
import { yaml } from '../spec/yamlLocate.js';
import type { ExportedObject } from './types.js';

/**
 * One YAML stream of objects (what `kubectl apply -f` takes). Strings YAML 1.1 would read as
 * something else (yes, on, 0755), as kubectl's parser does, are quoted.
 */
export function renderObjects(objects: readonly ExportedObject[], header: string): string {
  const line = (s: string): string => s.replace(/[\r\n]/g, '?');
  return objects
    .map((o, i) => {
      const doc = new (yaml().Document)(o.object, { compat: 'yaml-1.1', aliasDuplicateObjects: false });
      if (i === 0) doc.commentBefore = line(` ${header}`);
      return doc.toString({ lineWidth: 0 });
    })
    .join('---\n');
}

/** The objects of each workload, for `-o DIR`: one file per workload, holding every object it needs. */
export function objectsByWorkload(objects: readonly ExportedObject[]): Map<string, ExportedObject[]> {
  const out = new Map<string, ExportedObject[]>();
  for (const o of objects) for (const w of o.workloads) out.set(w, [...(out.get(w) ?? []), o]);
  return out;
}
