// RFC 6750 §2.1: the scheme is case-insensitive; the credential is a b64token (token68).
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * The credential of an `Authorization: Bearer <credential>` header, or undefined when the
 * header is absent, has another scheme, is not one token68 value, or is longer than
 * `maxLength`. Without `maxLength` any length passes: the verifier refuses an oversized
 * credential with its own code (`token_too_large`).
 */
export function bearerToken(
  authorization: string | undefined,
  maxLength: number = Number.POSITIVE_INFINITY,
): string | undefined {
  if (authorization === undefined) return undefined;
  const token = BEARER.exec(authorization)?.[1];
  return token !== undefined && token.length <= maxLength ? token : undefined;
}
