/**
 * Registry references in Docker's grammar (distribution's `reference` package):
 * `[HOST[:PORT]/]PATH[:TAG][@DIGEST]`, with Docker's defaults: no host is `docker.io`, a one-component
 * path on docker.io is under `library/`, no tag and no digest is `latest`.
 */
import { parseDigest } from './digest.js';

/** A registry reference with Docker's defaults filled in. */
export interface ImageReference {
  /** `docker.io`, `ghcr.io`, `registry.local:5000`, `[::1]:5000`. */
  registry: string;
  /** Slash-separated lowercase path (`library/nginx`). */
  repository: string;
  tag?: string;
  /** `sha256:<hex>` or `sha512:<hex>`; when set it decides what is pulled, the tag is informative. */
  digest?: string;
}

/** The registry name references without a host default to. */
export const DOCKER_HUB = 'docker.io';

/** The tag a reference with neither tag nor digest means. */
export const DEFAULT_TAG = 'latest';

/** Longest name (registry and repository) Docker accepts. */
export const MAX_NAME_LENGTH = 255;

const ALNUM = '[a-z0-9]+';
const SEPARATOR = '(?:[._]|__|-+)';
const PATH_COMPONENT = new RegExp(`^${ALNUM}(?:${SEPARATOR}${ALNUM})*$`);
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = new RegExp(`^(?:${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*|\\[[a-fA-F0-9:]+\\])(?::[0-9]+)?$`);
const TAG = /^[\w][\w.-]{0,127}$/;
const ANY_DIGEST = /^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/;
const IMAGE_ID = /^[a-f0-9]{64}$/;

/** Registry names that mean Docker Hub. */
const DOCKER_HUB_ALIASES: readonly string[] = ['docker.io', 'index.docker.io', 'registry-1.docker.io'];

/** Whether the first path component of a name is a registry host (Docker's rule). */
function looksLikeHost(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost' || component.toLowerCase() !== component;
}

/**
 * Docker's grammar and defaults: "nginx" -> docker.io/library/nginx:latest, "nginx:1.27",
 * "ghcr.io/o/app:2", "registry.local:5000/app@sha256:...", "localhost/app",
 * "host:5000/a/b:tag@sha256:..." (tag kept, digest wins). Lowercase repository required; errors say why.
 */
export function parseReference(s: string): ImageReference | { error: string } {
  const fail = (why: string): { error: string } => ({ error: `"${s}" is not an image reference: ${why}` });
  if (s === '') return { error: 'an image reference is empty' };
  if (/\s/.test(s)) return fail('it contains white space');
  if (IMAGE_ID.test(s)) return fail('it is 64 hex digits, which is an image ID, not a name');

  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!parseDigest(digest)) {
      return fail(
        ANY_DIGEST.test(digest)
          ? `digest ${digest}: only sha256 (64 hex digits) and sha512 (128 hex digits), in lowercase, are supported`
          : `"${digest}" after "@" is not a digest (sha256:<64 hex digits>)`,
      );
    }
  }

  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) return fail(`tag "${tag}" is not 1 to 128 letters, digits, "_", "." or "-" (not starting with "." or "-")`);
  }
  if (rest === '') return fail('the name is empty');

  let registry = DOCKER_HUB;
  let repository = rest;
  const slash = rest.indexOf('/');
  if (slash >= 0 && looksLikeHost(rest.slice(0, slash))) {
    registry = rest.slice(0, slash);
    repository = rest.slice(slash + 1);
    if (!DOMAIN.test(registry)) return fail(`registry "${registry}" is not a host name or address with an optional port`);
    if (DOCKER_HUB_ALIASES.includes(registry.toLowerCase())) registry = DOCKER_HUB;
  }
  if (repository === '') return fail('the repository path after the registry is empty');
  if (repository.toLowerCase() !== repository) return fail(`repository "${repository}" must be lowercase`);
  for (const component of repository.split('/')) {
    if (!PATH_COMPONENT.test(component)) {
      return fail(
        component === ''
          ? 'the repository has an empty path component'
          : `path component "${component}" is not lowercase letters and digits separated by ".", "_", "__" or "-"`,
      );
    }
  }
  if (registry === DOCKER_HUB && !repository.includes('/')) repository = `library/${repository}`;
  const name = `${registry}/${repository}`;
  if (name.length > MAX_NAME_LENGTH) return fail(`the name ${name} is longer than ${MAX_NAME_LENGTH} characters`);
  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  return { registry, repository, ...(tag !== undefined && { tag }), ...(digest !== undefined && { digest }) };
}

/** Canonical text: "docker.io/library/nginx:1.27", "reg:5000/app@sha256:..."; with tag and digest "name:tag@sha256:...". */
export function formatReference(r: ImageReference): string {
  return `${repositoryName(r)}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
}

/** The reference without tag/digest ("docker.io/library/nginx"). */
export function repositoryName(r: ImageReference): string {
  return `${r.registry}/${r.repository}`;
}

/** Where requests go: registry "docker.io" is served by "registry-1.docker.io". */
export function registryHost(registry: string): string {
  return registry === DOCKER_HUB ? 'registry-1.docker.io' : registry;
}

/** What the manifest request names: the digest when there is one, else the tag (`latest` by default). */
export function manifestTarget(r: ImageReference): string {
  return r.digest ?? r.tag ?? DEFAULT_TAG;
}
