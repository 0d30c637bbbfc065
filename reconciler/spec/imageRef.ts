import { specHash } from './hash.js';
import { layerPathProblem } from './paths.js';
import type { DesiredContainer, SpecError } from './types.js';

/** An image reference resolved through the image store: its manifest digest and layer directories, bottom first. */
export interface ResolvedImageRef {
  digest: string;
  layers: string[];
}

/**
 * Looks an image reference up in the image store: the resolved image, null when the store has no
 * such reference, or why it cannot be used. Reads the host: only controllers pass one to the
 * loader (`validate` stays host-independent).
 */
export type ImageResolver = (ref: string) => ResolvedImageRef | { error: string } | null;

/**
 * Replaces the image references of one file's specs by their layers, with the manifest digest in
 * the user spec and the hash (so a re-import under the same reference recreates). A reference the
 * store lacks is an error of the file, located at its `image.ref`.
 */
export function resolveImageRefs(
  specs: DesiredContainer[],
  file: string,
  resolve: ImageResolver,
): { specs: DesiredContainer[]; errors: SpecError[] } {
  const errors: SpecError[] = [];
  const out = specs.map((d) => {
    const image = d.user.image;
    if (!('ref' in image)) return d;
    const at = { file, line: d.imageRefAt?.line ?? 1, col: d.imageRefAt?.col ?? 1 };
    const r = resolve(image.ref);
    if (r === null) {
      errors.push({ ...at, message: `image ref "${image.ref}" not found: pocker image import it first` });
      return d;
    }
    if ('error' in r) {
      errors.push({ ...at, message: r.error });
      return d;
    }
    const bad = r.layers.map(layerPathProblem).find((p) => p !== null);
    if (bad) {
      errors.push({ ...at, message: `image ref "${image.ref}": ${bad}` });
      return d;
    }
    const user = { ...d.user, image: { ref: image.ref, digest: r.digest } };
    return { ...d, user, spec: { ...d.spec, layers: r.layers }, hash: specHash(user) };
  });
  return { specs: errors.length ? [] : out, errors };
}
