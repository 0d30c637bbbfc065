/** Error codes of the image store: each failure says what, which image, digest or path, and why. */
export type ImageErrorCode =
  /** The OCI layout or archive is malformed (missing file, bad JSON, unknown media type). */
  | 'IMAGE_LAYOUT'
  /** Several manifests could be meant: the caller must choose. */
  | 'IMAGE_AMBIGUOUS'
  /** A blob does not match its descriptor (digest or size), or a layer its diff_id. */
  | 'IMAGE_DIGEST'
  /** Something valid the store does not handle (zstd without zlib support, sparse files). */
  | 'IMAGE_UNSUPPORTED'
  /** A layer entry was refused (path traversal, device node, link outside the layer). */
  | 'IMAGE_ENTRY'
  /** No such reference in the store. */
  | 'IMAGE_NOT_FOUND'
  /** A container still uses the image's layers. */
  | 'IMAGE_IN_USE'
  /** Reading or writing the store itself failed. */
  | 'IMAGE_STORE'
  /**
   * A registry could not be reached, or not securely: DNS failure, connection refused or reset,
   * timeouts, 5xx or 429 answers after the retries, an untrusted TLS certificate.
   */
  | 'REGISTRY_UNREACHABLE'
  /** A registry refused access (401/403 after the auth flow), or a credentials file is unreadable or invalid. */
  | 'REGISTRY_AUTH'
  /** A registry has no such repository, tag, manifest or blob (404). */
  | 'REGISTRY_NOT_FOUND'
  /** A registry answered something pocker cannot use: bad JSON, an unexpected status, schema 1, an unknown media type. */
  | 'REGISTRY_PROTOCOL'
  /** An image index or image offers no manifest for this host's platform. */
  | 'IMAGE_PLATFORM';

/** What an image error is about: the image, the blob or layer digest, the path or tar entry, the cause. */
export interface ImageErrorDetails {
  image?: string;
  digest?: string;
  path?: string;
  entry?: string;
  cause?: unknown;
}

/** A failure of an image operation; message names the image, digest and entry it concerns. */
export class ImageError extends Error {
  constructor(
    readonly code: ImageErrorCode,
    message: string,
    readonly details: ImageErrorDetails = {},
  ) {
    super(message, details.cause ? { cause: details.cause } : undefined);
    this.name = 'ImageError';
  }
}
