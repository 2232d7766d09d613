import { errorCode } from '../errors/thrown.ts';
/** OpenSSL's verdicts on a peer certificate, as Node and Bun report them in `code`. */
const CERTIFICATE_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_SIGNATURE_FAILURE',
  'CERT_NOT_YET_VALID',
  'CERT_HAS_EXPIRED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'INVALID_CA',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function codeOf(err: unknown): string | undefined {
  for (let at: unknown = err; at instanceof Error; at = at.cause) {
    const code = errorCode(at);
    if (code !== undefined && CERTIFICATE_CODES.has(code)) return code;
  }
  return undefined;
}

export const CERTIFICATE_REFUSED = "the server's TLS certificate was refused";

/** Why a server could not be reached, in words an operator can act on (a refused certificate says so). */
export function describeConnectFailure(err: unknown): string {
  // The socket's own words ("connect ECONNREFUSED ...") rather than the wrapper's.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const message = cause instanceof Error ? cause.message : String(cause ?? 'unknown error');
  const code = codeOf(err);
  if (code === undefined) return message;
  return `${CERTIFICATE_REFUSED} (${code}): check --tls-ca and the server name`;
}

/** True when the failure was the server's certificate. */
export function isCertificateFailure(err: unknown): boolean {
  return codeOf(err) !== undefined;
}
