import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet } from 'jose';
import type { JSONWebKeySet } from 'jose';
import type { TrustedIssuer } from '@provenant/identity';
import { RequestError } from '../errors.js';

/**
 * An upstream OIDC provider trusted for human sign-in: its ID tokens are accepted as the
 * `subject_token` of a token exchange. Keys come from a JWKS file or the provider's JWKS URL.
 */
export function oidcIssuer(iss: string, jwks: string, audience?: string): TrustedIssuer {
  let getter: TrustedIssuer['jwks'];
  if (/^https?:\/\//.test(jwks)) {
    getter = createRemoteJWKSet(new URL(jwks), {
      timeoutDuration: 5_000,
      cooldownDuration: 30_000,
    });
  } else {
    let set: JSONWebKeySet;
    try {
      set = JSON.parse(readFileSync(jwks, 'utf8')) as JSONWebKeySet;
    } catch {
      throw new RequestError('invalid_parameter', `Cannot read the OIDC JWKS file ${jwks}.`);
    }
    getter = createLocalJWKSet(set);
  }
  return {
    iss,
    jwks: getter,
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    ...(audience === undefined ? {} : { audience }),
  };
}
