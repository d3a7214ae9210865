import { jwksSource, type TrustedIssuer } from '@provenant/identity';

/**
 * An upstream OIDC provider trusted for human sign-in: its ID tokens are accepted as the
 * `subject_token` of a token exchange. Keys come from a JWKS file or the provider's JWKS URL,
 * refreshed under the one JWKS source rule (`jwksSource`): a key the provider drops stops
 * verifying at the next refresh. An unreadable file throws `config_invalid`.
 */
export function oidcIssuer(iss: string, jwks: string, audience?: string): TrustedIssuer {
  return {
    iss,
    jwks: jwksSource(jwks).getKey,
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    ...(audience === undefined ? {} : { audience }),
  };
}
