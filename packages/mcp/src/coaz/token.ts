/**
 * The binding's `token` input (COAZ-MCP "Token Integrity"): the claims of an access token the
 * PEP validated itself — signature against the issuer's JWKS, `iss`, `aud`, `exp` — before any
 * claim is used in a mapping.
 */
import { createRemoteJWKSet, jwtVerify } from 'jose';
import type { TokenClaims } from './mapping.js';

export interface TokenValidation {
  /** The issuer's JWKS URL (a Provenant collector's is `<issuer>/.well-known/jwks.json`). */
  readonly jwks: string;
  readonly issuer: string;
  readonly audience: string;
}

/** A validator of access tokens: resolves with the claims, rejects for any failed check. */
export function tokenValidator(o: TokenValidation): (token: string) => Promise<TokenClaims> {
  const keys = createRemoteJWKSet(new URL(o.jwks));
  return async (token) => {
    const { payload } = await jwtVerify(token, keys, {
      issuer: o.issuer,
      audience: o.audience,
      algorithms: ['EdDSA', 'ES256', 'RS256'],
    });
    return payload as TokenClaims;
  };
}
