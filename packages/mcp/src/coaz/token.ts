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

/**
 * The claims of `token`, a credential of the collector at `collectorUrl`, validated against the
 * keys and issuer its RFC 8414 metadata names (read once): what the stdio proxy's PEP maps.
 */
export function collectorCredential(
  collectorUrl: string,
  token: string,
  audience = 'provenant',
): () => Promise<{ token: string; claims: TokenClaims }> {
  let validate: Promise<(token: string) => Promise<TokenClaims>> | null = null;
  const discover = async () => {
    const res = await fetch(
      `${collectorUrl.replace(/\/+$/, '')}/.well-known/oauth-authorization-server`,
    );
    if (res.status !== 200) throw new Error(`the collector's metadata answered ${res.status}`);
    const meta = (await res.json()) as { issuer?: unknown; jwks_uri?: unknown };
    if (typeof meta.issuer !== 'string' || typeof meta.jwks_uri !== 'string') {
      throw new Error("the collector's metadata names no issuer and jwks_uri");
    }
    return tokenValidator({ jwks: meta.jwks_uri, issuer: meta.issuer, audience });
  };
  return async () => {
    validate ??= discover().catch((e: unknown) => {
      validate = null;
      throw e;
    });
    return { token, claims: await (await validate)(token) };
  };
}
