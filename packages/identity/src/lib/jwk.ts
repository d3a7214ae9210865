/**
 * The two key types this package signs and verifies with: Ed25519 (`EdDSA`, the default) and
 * P-256 (`ES256`). Checks that a JWK is one of them, computes RFC 7638 thumbprints, and imports
 * public keys once.
 */
import { createHash } from 'node:crypto';
import { importJWK, type CryptoKey, type JWK } from 'jose';

export type AsymmetricAlg = 'EdDSA' | 'ES256';

const B64URL = /^[A-Za-z0-9_-]+$/;
// Base64url lengths of the key parts: 32-byte coordinates and scalars encode to 43 characters.
const COORDINATE_LENGTH = 43;

/** The signature algorithm a public JWK is for, or a sentence saying why it is not usable. */
export function algOfPublicJwk(jwk: unknown): { alg: AsymmetricAlg } | { problem: string } {
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) {
    return { problem: 'is not a JSON object' };
  }
  const k = jwk as Record<string, unknown>;
  if ('d' in k || 'p' in k || 'q' in k || 'k' in k || 'priv' in k) {
    return { problem: 'holds private or symmetric key material; register public keys only' };
  }
  let alg: AsymmetricAlg;
  if (k['kty'] === 'OKP' && k['crv'] === 'Ed25519') {
    alg = 'EdDSA';
    if (!isCoordinate(k['x'])) return { problem: 'has no valid Ed25519 "x"' };
  } else if (k['kty'] === 'EC' && k['crv'] === 'P-256') {
    alg = 'ES256';
    if (!isCoordinate(k['x']) || !isCoordinate(k['y'])) {
      return { problem: 'has no valid P-256 "x" and "y"' };
    }
  } else {
    return { problem: 'is neither an Ed25519 (OKP) nor a P-256 (EC) key' };
  }
  if (k['alg'] !== undefined && k['alg'] !== alg) {
    return { problem: `has "alg" ${JSON.stringify(k['alg'])}, which does not fit its key type` };
  }
  if (k['use'] !== undefined && k['use'] !== 'sig')
    return { problem: 'has a "use" other than "sig"' };
  if (k['kid'] !== undefined && (typeof k['kid'] !== 'string' || k['kid'].length === 0)) {
    return { problem: 'has a "kid" that is not a non-empty string' };
  }
  return { alg };
}

function isCoordinate(value: unknown): boolean {
  return typeof value === 'string' && value.length === COORDINATE_LENGTH && B64URL.test(value);
}

/** RFC 7638 JWK thumbprint (SHA-256, base64url) of an OKP or EC public key. */
export function jwkThumbprint(jwk: JWK): string {
  // Required members only, in lexicographic order, no whitespace (RFC 7638 §3.2).
  const members =
    jwk.kty === 'EC'
      ? { crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y }
      : { crv: jwk.crv, kty: jwk.kty, x: jwk.x };
  return createHash('sha256').update(JSON.stringify(members)).digest('base64url');
}

const imported = new WeakMap<JWK, Promise<CryptoKey>>();

/** Imports a public JWK for verification with `alg`, once per JWK object. */
export function importPublicJwk(jwk: JWK, alg: AsymmetricAlg): Promise<CryptoKey> {
  let key = imported.get(jwk);
  if (key === undefined) {
    key = importJWK(jwk, alg) as Promise<CryptoKey>;
    imported.set(jwk, key);
    // A key that fails to import should not stay cached as a rejected promise.
    key.catch(() => imported.delete(jwk));
  }
  return key;
}
