/** How the registry client tells network failures apart and words them. */

/** OpenSSL and Node codes of a TLS certificate that is not trusted or not for this host. */
const CERT_CODES: readonly string[] = [
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_SIGNATURE_FAILURE',
  'INVALID_CA',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
];

const code = (e: unknown): string | undefined => {
  const c = (e as { code?: unknown } | null)?.code;
  return typeof c === 'string' ? c : undefined;
};

/** Whether a request failed because the server's TLS certificate is not trusted (retrying cannot help). */
export function isCertificateError(e: unknown): boolean {
  const c = code(e);
  return c !== undefined && (CERT_CODES.includes(c) || c.startsWith('ERR_TLS_CERT'));
}

/** Whether an https request failed because the server does not speak TLS (a plain HTTP server). */
export function isNotTlsError(e: unknown): boolean {
  const c = code(e);
  const msg = e instanceof Error ? e.message : '';
  return (
    c === 'EPROTO' ||
    c === 'ERR_SSL_WRONG_VERSION_NUMBER' ||
    c === 'ERR_SSL_PACKET_LENGTH_TOO_LONG' ||
    /wrong version number|packet length too long|before secure TLS connection was established/.test(msg)
  );
}

/** Whether a failure is a network one (Node's errors carry a code); others are bugs, passed on as they are. */
export function isNetworkError(e: unknown): boolean {
  return code(e) !== undefined;
}

/** Whether a network failure is worth another attempt: a connection or timeout failure, not a TLS trust or redirect one. */
export function isRetryableNetworkError(e: unknown): boolean {
  const c = code(e);
  if (c === undefined || isCertificateError(e)) return false;
  return c !== 'ERR_TOO_MANY_REDIRECTS' && c !== 'ERR_INVALID_REDIRECT' && c !== 'ERR_INVALID_URL';
}

/** Words for a network failure: what happened and its code, with a hint for TLS trust failures. */
export function describeNetworkError(e: unknown): string {
  const c = code(e);
  const msg = e instanceof Error ? e.message : String(e);
  if (isCertificateError(e))
    return `TLS certificate not trusted (${c}: ${msg}); give the registry's CA certificate file if it uses a private CA`;
  switch (c) {
    case 'ECONNREFUSED':
      return 'connection refused (ECONNREFUSED)';
    case 'ECONNRESET':
      return `connection reset (ECONNRESET${msg && !/ECONNRESET/.test(msg) ? `: ${msg}` : ''})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `host name not found (${c})`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `no route to the host (${c})`;
    case 'ETIMEDOUT':
      return msg.includes('timed out') ? msg : `timed out (${c})`;
    case undefined:
      return msg;
    default:
      return msg.includes(c) ? msg : `${msg} (${c})`;
  }
}

/** The first error of a registry's JSON error body (`{"errors":[{"code","message"}]}`), as " (CODE: message)"; "" when none. */
export function registryErrorText(body: Buffer): string {
  try {
    const doc = JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> };
    const first = Array.isArray(doc.errors) ? doc.errors[0] : undefined;
    if (!first) return '';
    const parts = [first.code, first.message].filter((p): p is string => typeof p === 'string' && p !== '');
    return parts.length ? ` (${parts.join(': ').slice(0, 300)})` : '';
  } catch {
    return '';
  }
}
