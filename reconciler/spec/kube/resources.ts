/**
 * A container's resources: `limits.cpu/memory` (with `requests` equal to them or left out: pocker
 * has limits only), and the limits a Pod has no field for from `pocker.io/` annotations.
 */
import { ANNOTATION } from './annotations.js';
import type { SpecBuilder } from './builder.js';
import type { ContainerAnnotations } from './context.js';
import type { Cursor } from './cursor.js';
import { kubeBytes, kubeCpus } from './quantity.js';
import { NOT_SUPPORTED } from './rules.js';

const OTHER_RESOURCE =
  'is not supported: pocker limits cpu and memory here (pids, cpuset, memsw, io and cpu shares through pocker.io/ annotations)';

/** A whole number written as an annotation's string, or undefined (with a problem). */
function annotationInt(at: Cursor): number | undefined {
  const s = at.string();
  if (s === undefined) return undefined;
  if (!/^[0-9]+$/.test(s)) {
    at.fail(`${JSON.stringify(s)} is not a whole number`);
    return undefined;
  }
  return Number(s);
}

/** Reads limits, requests and the resource annotations into `resources`. */
export function importResources(c: Cursor, b: SpecBuilder, ann: ContainerAnnotations): void {
  const r = c.at('resources');
  r.keys({ limits: true, requests: true, claims: 'is not supported: pocker has no dynamic resource allocation' }, NOT_SUPPORTED);
  const limits = r.at('limits');
  const requests = r.at('requests');
  limits.keys({ cpu: true, memory: true }, OTHER_RESOURCE);
  requests.keys({ cpu: true, memory: true }, OTHER_RESOURCE);
  limits.map();
  requests.map();
  for (const key of ['cpu', 'memory'] as const) {
    const lim = limits.at(key);
    const req = requests.at(key);
    const read = (at: Cursor): number | undefined => {
      if (!at.present) return undefined;
      const v = key === 'cpu' ? kubeCpus(at.value) : kubeBytes(at.value);
      if ('error' in v) {
        at.fail(v.error);
        return undefined;
      }
      return 'cpus' in v ? v.cpus : v.bytes;
    };
    const limit = read(lim);
    const request = read(req);
    if (req.present && !lim.present) {
      req.refuse(`has no limit beside it: pocker has limits only (give limits.${key} equal to it, or leave it out)`);
      continue;
    }
    if (request !== undefined && limit !== undefined && request !== limit)
      req.refuse(`differs from limits.${key}: pocker has limits only (give requests equal to limits, or leave them out)`);
    if (limit !== undefined) b.set(['resources', key === 'cpu' ? 'cpus' : 'memory'], limit, lim.place);
  }
  const pids = ann.get(ANNOTATION.pids);
  if (pids) {
    const n = annotationInt(pids);
    if (n !== undefined) b.set(['resources', 'pids'], n, pids.place);
  }
  const shares = ann.get(ANNOTATION.cpuShares);
  if (shares) {
    const n = annotationInt(shares);
    if (n !== undefined) b.set(['resources', 'cpuShares'], n, shares.place);
  }
  for (const [key, field] of [
    [ANNOTATION.cpuset, 'cpuset'],
    [ANNOTATION.memsw, 'memsw'],
  ] as const) {
    const at = ann.get(key);
    const s = at?.string();
    if (at && s !== undefined) b.set(['resources', field], s, at.place);
  }
  const io = ann.json(ANNOTATION.io);
  if (io) b.set(['resources', 'io'], io.value, io.at.place);
}
