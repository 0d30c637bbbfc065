import { specHash } from './hash.js';
import { applyImageConfig, type ImageConfig } from './imageConfig.js';
import { layerPathProblem } from './paths.js';
import type { DesiredContainer, SpecError } from './types.js';

/** An image resolved through the image store: its manifest digest, layer directories (bottom first) and config. */
export interface ResolvedImageRef {
  digest: string;
  layers: string[];
  /** The image config's runtime defaults; null when the store has none (images imported before it kept configs). */
  config?: ImageConfig | null;
}

/** What the loader asks the store: an imported image by its store name, or a registry image for one container. */
export type ImageQuery = { kind: 'store'; ref: string } | { kind: 'registry'; reference: string; container: string };

/**
 * Looks an image up in the image store: the resolved image; null when the store has no such
 * imported reference; `{pull}` when a registry image must be pulled first (what to pull); or why
 * it cannot be used. For a registry image the container's pinned digest wins over what the
 * reference names in the store now. Reads the host: only controllers pass one to the loader
 * (`validate` stays host-independent).
 */
export type ImageResolver = (q: ImageQuery) => ResolvedImageRef | { pull: string } | { error: string } | null;

function layerProblem(r: ResolvedImageRef): string | null {
  return r.layers.map(layerPathProblem).find((p) => p !== null) ?? null;
}

/**
 * Fills in the images of one file's specs: layers, the image config (Kubernetes' rules for
 * command and args), and for an imported `ref` the manifest digest in the user spec and the hash
 * (a re-import under the same reference recreates). A registry image is pinned: its digest is
 * recorded in the spec (`image`) but not hashed; one the store lacks is left pending for the
 * controller to pull (an error of the file with `pull: never`). A reference the store lacks is an
 * error of the file, located at its `image`.
 */
export function resolveImageRefs(
  specs: DesiredContainer[],
  file: string,
  resolve: ImageResolver,
): { specs: DesiredContainer[]; errors: SpecError[] } {
  const errors: SpecError[] = [];
  const out = specs.map((d) => {
    const image = d.user.image;
    if ('layers' in image) return d;
    const at = { file, line: d.imageRefAt?.line ?? 1, col: d.imageRefAt?.col ?? 1 };
    if ('ref' in image) {
      const r = resolve({ kind: 'store', ref: image.ref });
      if (r === null || 'pull' in r) {
        errors.push({ ...at, message: `image ref "${image.ref}" not found: pocker image import it first` });
        return d;
      }
      if ('error' in r) {
        errors.push({ ...at, message: r.error });
        return d;
      }
      const bad = layerProblem(r);
      if (bad) {
        errors.push({ ...at, message: `image ref "${image.ref}": ${bad}` });
        return d;
      }
      const user = { ...d.user, image: { ref: image.ref, digest: r.digest } };
      const spec = { ...d.spec, layers: r.layers };
      return {
        ...d,
        user,
        spec: r.config ? applyImageConfig(user, spec, r.config) : { ...spec, command: [...(user.command ?? []), ...(user.args ?? [])] },
        hash: specHash(user),
      };
    }
    const policy = d.user.pull ?? 'missing';
    const r = resolve({ kind: 'registry', reference: image.reference, container: d.spec.name }) ?? { pull: image.reference };
    if ('error' in r) {
      errors.push({ ...at, message: r.error });
      return d;
    }
    if ('pull' in r) {
      if (policy === 'never') {
        errors.push({
          ...at,
          message: `image ${image.reference} is not in the image store and the spec says pull: never (pocker image pull it, or import it with --name)`,
        });
        return d;
      }
      return { ...d, pendingImage: { pull: r.pull, policy } };
    }
    const bad = layerProblem(r);
    if (bad) {
      errors.push({ ...at, message: `image ${image.reference}: ${bad}` });
      return d;
    }
    const spec = { ...d.spec, layers: r.layers, image: { reference: image.reference, digest: r.digest } };
    return { ...d, spec: applyImageConfig(d.user, spec, r.config ?? {}) };
  });
  return { specs: errors.length ? [] : out, errors };
}
