/** How jose's failures become this package's `CredentialError`s. */
import { errors, type JWTVerifyGetKey } from 'jose';
import { CredentialError, type CredentialErrorCode } from '../errors.js';

/** Wraps a key resolver so key-set failures become `unknown_kid` or `keys_unavailable`. */
export function keyLookup(jwks: JWTVerifyGetKey): JWTVerifyGetKey {
  return async (header, token) => {
    try {
      return await jwks(header, token);
    } catch (e) {
      if (e instanceof CredentialError) throw e;
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys) {
        const message = 'The credential names a key (kid) its issuer does not publish.';
        throw new CredentialError('unknown_kid', message, { claim: 'kid' });
      }
      throw new CredentialError('keys_unavailable', "The issuer's keys could not be read.", {
        cause: e instanceof Error ? e.message : String(e),
      });
    }
  };
}

export function fromJoseError(e: unknown): CredentialError {
  if (e instanceof CredentialError) return e;
  if (e instanceof errors.JOSEAlgNotAllowed || e instanceof errors.JOSENotSupported) {
    return new CredentialError('unsupported_alg', "The credential's algorithm is not accepted.", {
      claim: 'alg',
    });
  }
  if (e instanceof errors.JWSSignatureVerificationFailed) {
    return new CredentialError('bad_signature', "The credential's signature does not verify.");
  }
  if (e instanceof errors.JWTExpired) {
    return new CredentialError('expired', 'The credential has expired.', { claim: e.claim });
  }
  if (e instanceof errors.JWTClaimValidationFailed) {
    const byClaim: Record<string, CredentialErrorCode> = {
      nbf: 'not_yet_valid',
      aud: 'wrong_audience',
      iss: 'wrong_issuer',
      typ: 'wrong_typ',
    };
    const code: CredentialErrorCode =
      e.reason === 'missing' ? 'missing_claim' : (byClaim[e.claim] ?? 'malformed_token');
    const message =
      e.reason === 'missing'
        ? `The credential has no "${e.claim}".`
        : code === 'malformed_token'
          ? `The credential's "${e.claim}" is not valid.`
          : `The credential's "${e.claim}" check failed.`;
    return new CredentialError(code, message, { claim: e.claim });
  }
  if (e instanceof errors.JOSEError) {
    return new CredentialError('malformed_token', 'The credential is not a well-formed JWT.');
  }
  // jose throws TypeError when a resolved key cannot be used for the token's algorithm.
  if (e instanceof TypeError) {
    return new CredentialError(
      'bad_signature',
      "The credential cannot be verified with its issuer's key.",
    );
  }
  throw e;
}
