/** What the import of one container needs to know about its Pod and its file. */
import { annotationKey, type AnnotationKey } from './annotations.js';
import type { Cursor } from './cursor.js';
import type { FileResources } from './documents.js';

/** The Pod a container is read from. */
export interface PodContext {
  resources: FileResources;
  /** The Pod's volumes by name. */
  volumes: Map<string, Cursor>;
  /** Which containers mount each emptyDir volume (a tmpfs of pocker's belongs to one container). */
  emptyDirUsers: Map<string, string[]>;
  /** The Pod's securityContext (what applies to every container unless the container says otherwise). */
  security: Cursor;
  hostNetwork: boolean;
}

/** The `pocker.io/` annotations of one container of a workload: `pocker.io/KEY`, or `INIT.pocker.io/KEY` for an init container. */
export class ContainerAnnotations {
  constructor(
    private readonly byKey: ReadonlyMap<string, Cursor>,
    readonly init?: string,
  ) {}

  get(key: AnnotationKey): Cursor | undefined {
    return this.byKey.get(annotationKey(key, this.init));
  }

  /** The JSON value of an annotation, or undefined (with a problem when it is not JSON). */
  json(key: AnnotationKey): { value: unknown; at: Cursor } | undefined {
    const at = this.get(key);
    const text = at?.string();
    if (!at || text === undefined) return undefined;
    try {
      return { value: JSON.parse(text) as unknown, at };
    } catch (e) {
      at.refuse(`is not JSON: ${(e as Error).message}`);
      return undefined;
    }
  }

  /** A JSON mapping by target (files, secrets, tmpfs), or {} (with a problem when it is something else). */
  byTarget(key: AnnotationKey): { value: Record<string, Record<string, unknown>>; at: Cursor | undefined } {
    const j = this.json(key);
    if (!j) return { value: {}, at: undefined };
    const ok =
      j.value !== null &&
      typeof j.value === 'object' &&
      !Array.isArray(j.value) &&
      Object.values(j.value).every((v) => v !== null && typeof v === 'object' && !Array.isArray(v));
    if (!ok) {
      j.at.refuse('must be a JSON object of targets, each a JSON object of fields');
      return { value: {}, at: j.at };
    }
    return { value: j.value as Record<string, Record<string, unknown>>, at: j.at };
  }
}
