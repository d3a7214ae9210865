/**
 * RFC 7523 `private_key_jwt` client authentication: a workload proves possession of a key it
 * registered by signing a short-lived, single-use JWT whose `iss` and `sub` are its own id and
 * whose `aud` names the authorization server: its issuer identifier (what RFC 7523 §3 and the MCP
 * SDK's `private_key_jwt` helper use) or its token endpoint URL (what RFC 7523 also allows).
 */
import { compactVerify } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { ClientAuthError } from './errors.js';
import { decodeCompact } from './lib/compact.js';
import { algOfPublicJwk, importPublicJwk, jwkThumbprint, type AsymmetricAlg } from './lib/jwk.js';
import { WORKLOAD_KINDS, type Principal, type PrincipalDirectory } from './principals.js';
import type { ReplayCache } from './revocation.js';

export { MemoryReplayCache, type ReplayCache } from './revocation.js';

export interface ClientAssertionOptions {
  /** The token endpoint URL: an `aud` the assertion may carry. */
  tokenEndpoint: string;
  /** The authorization server's issuer identifier: the other `aud` it may carry. */
  issuer?: string;
  directory: PrincipalDirectory;
  replay: ReplayCache;
  clock?: Clock;
  /** Longest accepted `exp - now`, in seconds (default 300). */
  maxLifetimeSec?: number;
  /** Tolerated clock difference, in seconds (default 30). */
  skewSec?: number;
  /** Largest accepted assertion (default 8192 bytes). */
  maxBytes?: number;
}

const ASSERTION_ALGS: readonly AsymmetricAlg[] = ['EdDSA', 'ES256'];
const MAX_JTI = 256;

/**
 * Authenticates a client by its assertion and returns its registered principal. Refusals are
 * `ClientAuthError`s: `invalid_client` (malformed, unknown client, no such registered key, bad
 * signature, wrong audience, too long-lived…; `reason` says which), `assertion_expired`,
 * `assertion_replayed` (its `jti` was used before), `principal_disabled`. The `jti` is spent
 * only once everything else has passed, so nobody can burn another client's ids.
 */
export async function verifyClientAssertion(
  assertion: string,
  opts: ClientAssertionOptions,
): Promise<Principal> {
  const clock = opts.clock ?? systemClock;
  const maxLifetimeSec = opts.maxLifetimeSec ?? 300;
  const skewSec = opts.skewSec ?? 30;

  const decoded = decodeCompact(assertion, opts.maxBytes ?? 8192);
  if ('failure' in decoded) {
    throw new ClientAuthError(
      'invalid_client',
      decoded.failure === 'too_large' ? 'token_too_large' : 'malformed',
      `The client assertion is refused: ${decoded.message}`,
    );
  }
  const { header, payload } = decoded;
  const alg = header['alg'];
  if (typeof alg !== 'string' || !(ASSERTION_ALGS as readonly string[]).includes(alg)) {
    throw new ClientAuthError(
      'invalid_client',
      'unsupported_alg',
      `Client assertions must be signed with ${ASSERTION_ALGS.join(' or ')}.`,
    );
  }
  const { iss, sub } = payload;
  if (typeof iss !== 'string' || typeof sub !== 'string') {
    throw new ClientAuthError(
      'invalid_client',
      'missing_claim',
      'The client assertion needs "iss" and "sub".',
    );
  }
  if (iss !== sub) {
    throw new ClientAuthError(
      'invalid_client',
      'iss_sub_mismatch',
      'A client assertion\'s "iss" and "sub" must both be the client id.',
    );
  }
  const principal = opts.directory.get(iss);
  if (principal === undefined) {
    throw new ClientAuthError('invalid_client', 'unknown_client', 'The client is not registered.');
  }
  if (!WORKLOAD_KINDS.includes(principal.kind)) {
    throw new ClientAuthError(
      'invalid_client',
      'not_a_workload',
      `A ${principal.kind} does not authenticate with a client assertion.`,
    );
  }
  const registered = principal.publicJwks ?? [];
  if (registered.length === 0) {
    throw new ClientAuthError(
      'invalid_client',
      'no_registered_keys',
      'The client has no registered key.',
    );
  }

  // Candidate keys: the one named by kid, or (no kid) every registered key of this algorithm.
  const kid = header['kid'];
  const candidates = registered.filter((jwk) => {
    const checked = algOfPublicJwk(jwk);
    return (
      'alg' in checked &&
      checked.alg === alg &&
      (kid === undefined ||
        jwk.kid === kid ||
        (jwk.kid === undefined && jwkThumbprint(jwk) === kid))
    );
  });
  if (candidates.length === 0) {
    throw new ClientAuthError(
      'invalid_client',
      'unregistered_key',
      'The client assertion is not signed with a key registered for this client.',
    );
  }
  let verified = false;
  for (const jwk of candidates) {
    try {
      await compactVerify(assertion, await importPublicJwk(jwk, alg as AsymmetricAlg), {
        algorithms: [alg],
      });
      verified = true;
      break;
    } catch {
      // Try the next registered key; the error below names the outcome.
    }
  }
  if (!verified) {
    throw new ClientAuthError(
      'invalid_client',
      kid === undefined ? 'unregistered_key' : 'bad_signature',
      kid === undefined
        ? 'The client assertion is not signed with a key registered for this client.'
        : 'The client assertion signature does not verify with the registered key.',
    );
  }

  if (principal.disabled) {
    throw new ClientAuthError('principal_disabled', 'disabled', 'The client is disabled.');
  }

  const now = Math.floor(clock() / 1000);
  const aud = payload['aud'];
  const audiences = typeof aud === 'string' ? [aud] : Array.isArray(aud) ? aud : [];
  const accepted =
    opts.issuer === undefined ? [opts.tokenEndpoint] : [opts.issuer, opts.tokenEndpoint];
  if (!audiences.some((a) => typeof a === 'string' && accepted.includes(a))) {
    throw new ClientAuthError(
      'invalid_client',
      'wrong_audience',
      `The client assertion's "aud" must be this authorization server: ${accepted.join(' or ')}.`,
    );
  }
  const { exp, nbf, iat, jti } = payload;
  if (typeof exp !== 'number' || !Number.isFinite(exp)) {
    throw new ClientAuthError(
      'invalid_client',
      'missing_claim',
      'The client assertion needs a numeric "exp".',
    );
  }
  if (exp <= now - skewSec) {
    throw new ClientAuthError('assertion_expired', 'expired', 'The client assertion has expired.');
  }
  if (exp > now + maxLifetimeSec + skewSec) {
    throw new ClientAuthError(
      'invalid_client',
      'lifetime_too_long',
      `A client assertion may live at most ${maxLifetimeSec} seconds.`,
    );
  }
  if (
    (nbf !== undefined && !(typeof nbf === 'number' && nbf <= now + skewSec)) ||
    (iat !== undefined && !(typeof iat === 'number' && iat <= now + skewSec))
  ) {
    throw new ClientAuthError(
      'invalid_client',
      'not_yet_valid',
      'The client assertion is not valid yet.',
    );
  }
  if (typeof jti !== 'string' || jti.length === 0 || jti.length > MAX_JTI) {
    throw new ClientAuthError(
      'invalid_client',
      'missing_claim',
      `The client assertion needs a "jti" of 1–${MAX_JTI} characters.`,
    );
  }
  // Namespaced by client, and remembered for as long as the assertion could still be accepted.
  if (!(await opts.replay.useOnce(`${iss} ${jti}`, Math.ceil(exp + skewSec)))) {
    throw new ClientAuthError(
      'assertion_replayed',
      'replayed',
      'The client assertion was already used.',
    );
  }
  return principal;
}
