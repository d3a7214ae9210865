/**
 * Transaction Tokens (draft-ietf-oauth-transaction-tokens-10): the claims a Txn-Token Service
 * puts in one ("JWT Body Claims"), and the checks a workload that receives one in the
 * `Txn-Token` header runs ("Txn-Token Validation"): signature, `typ` `txntoken+jwt`, `aud` the
 * trust domain, not expired. What a receiver keeps of it is its `txn`, its SHA-256 and the
 * digest of its `tctx` (Privacy → "Logging": never the token).
 */
import { digestOf, sha256Hex } from '@provenant/core';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { CredentialError, type CredentialErrorCode } from './errors.js';
import { decodeCompact } from './lib/compact.js';
import { fromJoseError, keyLookup } from './lib/jose-errors.js';
import { Lru } from './lib/lru.js';
import { parseScopeClaim } from './lib/scope.js';
import { TXN_TOKEN_TYP } from './verify.js';

export { TXN_TOKEN_TYP } from './verify.js';
/** `requested_token_type` / `issued_token_type` of a Txn-Token (draft -10 "Txn-Token Request"). */
export const TOKEN_TYPE_TXN_TOKEN = 'urn:ietf:params:oauth:token-type:txn_token';
/** The HTTP header a Txn-Token travels in (draft -10 "'Txn-Token' HTTP Header"). */
export const TXN_TOKEN_HEADER = 'txn-token';

/** Signature algorithms accepted on a Txn-Token; never `none` or a shared secret. */
export const TXN_TOKEN_ALGS = ['EdDSA', 'ES256', 'ES384', 'RS256', 'PS256'] as const;
const MAX_TXN_TOKEN_BYTES = 16_384;
const MAX_CLAIM = 1024;

/** The body of a Txn-Token as this TTS issues it (draft -10 "JWT Body Claims"). */
export interface TxnTokenClaims {
  iss?: string;
  iat: number;
  /** The trust domain it is valid in. */
  aud: string;
  exp: number;
  /** The transaction's unique id (RFC 8417 §2.2 `txn`). */
  txn: string;
  /** The principal of the transaction, unique within the trust domain. */
  sub: string;
  /** Space-separated. */
  scope: string;
  /** Immutable transaction context. */
  tctx?: Record<string, unknown>;
  /** Request (environment) context. */
  rctx?: Record<string, unknown>;
  /** The workload that requested it. */
  req_wl: string;
}

/** A Txn-Token Service whose tokens a receiver accepts: its `iss` and its signing keys. */
export interface TrustedTxnTokenService {
  /** The `iss` its tokens carry; a token without `iss` is tried against each service's keys. */
  iss: string;
  keys: JWTVerifyGetKey;
  /** Whether it holds a key of this id now (a `JwksSource`'s `has`); checked on cache hits. */
  has?: (kid: string) => boolean;
}

export interface VerifiedTxnToken {
  txn: string;
  sub: string;
  aud: string[];
  scope: string[];
  reqWl: string;
  /** The service that signed it (its `iss`, or the configured one whose key verified it). */
  iss: string;
  iat: number;
  exp: number;
  kid: string;
  /** `sha256:` of the token's bytes: what logs and records name it by. Never log the token. */
  tokenDigest: string;
  /** `sha256:` of the RFC 8785 canonical `tctx`, when it carries one. */
  tctxDigest?: string;
}

export interface TxnTokenVerifierOptions {
  services: readonly TrustedTxnTokenService[];
  /** The trust domain of this workload: `aud` must name it. */
  trustDomain: string;
  clock?: Clock;
  /** Tolerated clock difference, seconds (default 30). */
  skewSec?: number;
  /** Verified tokens remembered by digest until they expire (default 10,000; 0: none). */
  cacheSize?: number;
}

/** Verifies the Txn-Tokens a workload receives (draft -10 "Txn-Token Validation"). */
export class TxnTokenVerifier {
  private readonly services = new Map<string, TrustedTxnTokenService>();
  private readonly trustDomain: string;
  private readonly clock: Clock;
  private readonly skewSec: number;
  private readonly cache: Lru<string, VerifiedTxnToken>;

  constructor(o: TxnTokenVerifierOptions) {
    if (typeof o.trustDomain !== 'string' || o.trustDomain === '') {
      throw new TypeError('A Txn-Token verifier needs its trust domain.');
    }
    for (const s of o.services) {
      if (typeof s.iss !== 'string' || s.iss === '') {
        throw new TypeError('A Txn-Token Service needs its "iss".');
      }
      this.services.set(s.iss, s);
    }
    this.trustDomain = o.trustDomain;
    this.clock = o.clock ?? systemClock;
    this.skewSec = o.skewSec ?? 30;
    this.cache = new Lru(o.cacheSize ?? 10_000);
  }

  /**
   * Verifies one `Txn-Token` header value or throws a `CredentialError`: size and compact shape,
   * `typ` `txntoken+jwt` (`wrong_typ`), an allowed `alg`, a `kid`, a configured service
   * (`wrong_issuer`), the signature, `aud` naming the trust domain (`wrong_audience`), `exp`
   * (`expired`), and the required `iat`, `txn`, `sub`, `scope`, `req_wl` (`missing_claim`).
   * A token seen before is answered from the cache after re-checking `exp` and its key.
   */
  async verify(token: string): Promise<VerifiedTxnToken> {
    if (typeof token !== 'string' || token.length > MAX_TXN_TOKEN_BYTES) {
      fail('token_too_large', `A Txn-Token is at most ${MAX_TXN_TOKEN_BYTES} bytes.`);
    }
    const now = Math.floor(this.clock() / 1000);
    const tokenDigest = `sha256:${sha256Hex(Buffer.from(token, 'utf8'))}`;
    const cached = this.cache.get(tokenDigest);
    if (cached !== undefined) {
      const service = this.services.get(cached.iss);
      if (cached.exp > now - this.skewSec && service?.has?.(cached.kid) !== false) return cached;
      this.cache.delete(tokenDigest);
    }
    const verified = await this.verifyCold(token, tokenDigest, now);
    this.cache.set(tokenDigest, verified);
    return verified;
  }

  /** Forgets every cached verification (e.g. after an issuer key was retired at once). */
  clearCache(): void {
    this.cache.clear();
  }

  private async verifyCold(
    token: string,
    tokenDigest: string,
    now: number,
  ): Promise<VerifiedTxnToken> {
    const decoded = decodeCompact(token, MAX_TXN_TOKEN_BYTES);
    if ('failure' in decoded) {
      fail(
        decoded.failure === 'too_large' ? 'token_too_large' : 'malformed_token',
        decoded.message,
      );
    }
    if (decoded.header['typ'] !== TXN_TOKEN_TYP) {
      fail('wrong_typ', `A Txn-Token's "typ" must be ${TXN_TOKEN_TYP}.`, 'typ');
    }
    const alg = decoded.header['alg'];
    if (typeof alg !== 'string' || !(TXN_TOKEN_ALGS as readonly string[]).includes(alg)) {
      fail('unsupported_alg', `A Txn-Token must be signed with ${TXN_TOKEN_ALGS.join(', ')}.`);
    }
    const kid = decoded.header['kid'];
    if (typeof kid !== 'string' || kid === '') {
      fail('unknown_kid', 'The Txn-Token names no key (kid).', 'kid');
    }
    const iss = decoded.payload['iss'];
    let service: TrustedTxnTokenService | undefined;
    if (iss !== undefined) {
      service = typeof iss === 'string' ? this.services.get(iss) : undefined;
      if (service === undefined) {
        fail('wrong_issuer', 'The Txn-Token is not from a configured Txn-Token Service.', 'iss');
      }
    } else {
      // "iss" is optional (draft -10): the service whose key set holds the kid signed it.
      service = [...this.services.values()].find((s) => s.has?.(kid) === true);
      if (service === undefined && this.services.size === 1) {
        service = [...this.services.values()][0];
      }
      if (service === undefined) {
        fail('unknown_kid', 'No configured Txn-Token Service holds its key.', 'kid');
      }
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keyLookup(service.keys), {
        algorithms: [...TXN_TOKEN_ALGS],
        typ: TXN_TOKEN_TYP,
        audience: this.trustDomain,
        clockTolerance: this.skewSec,
        currentDate: new Date(now * 1000),
        requiredClaims: ['iat', 'aud', 'exp', 'txn', 'sub', 'scope', 'req_wl'],
      }));
    } catch (e) {
      throw fromJoseError(e);
    }
    const txn = claimString(payload, 'txn');
    const sub = claimString(payload, 'sub');
    const reqWl = claimString(payload, 'req_wl');
    const scopeClaim = payload['scope'];
    const scope = typeof scopeClaim === 'string' ? parseScopeClaim(scopeClaim) : undefined;
    if (scope === undefined) {
      fail('malformed_token', '"scope" must be space-separated scopes.', 'scope');
    }
    const aud = payload['aud'];
    const tctx = payload['tctx'];
    if (tctx !== undefined && (typeof tctx !== 'object' || tctx === null || Array.isArray(tctx))) {
      fail('malformed_token', '"tctx" must be a JSON object.', 'tctx');
    }
    return Object.freeze({
      txn,
      sub,
      aud: typeof aud === 'string' ? [aud] : [...(aud as string[])],
      scope,
      reqWl,
      iss: service.iss,
      iat: payload['iat'] as number,
      exp: payload['exp'] as number,
      kid,
      tokenDigest,
      ...(tctx === undefined ? {} : { tctxDigest: digestOf(tctx) }),
    });
  }
}

/**
 * The body of a Txn-Token this service issues (draft -10 "Txn-Token Request Processing"): `aud`
 * the trust domain, `txn` fresh, `sub` the transaction's principal, `scope` as decided, `tctx`
 * from `request_details`, `rctx` from `request_context`, `req_wl` the requesting workload.
 */
export function txnTokenClaims(input: {
  iss: string;
  trustDomain: string;
  txn: string;
  sub: string;
  scope: readonly string[];
  reqWl: string;
  iat: number;
  exp: number;
  tctx?: Record<string, unknown>;
  rctx?: Record<string, unknown>;
}): TxnTokenClaims {
  return {
    iss: input.iss,
    iat: input.iat,
    aud: input.trustDomain,
    exp: input.exp,
    txn: input.txn,
    sub: input.sub,
    scope: input.scope.join(' '),
    ...(input.tctx === undefined ? {} : { tctx: input.tctx }),
    ...(input.rctx === undefined ? {} : { rctx: input.rctx }),
    req_wl: input.reqWl,
  };
}

function claimString(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (typeof value !== 'string' || value === '' || value.length > MAX_CLAIM) {
    fail('malformed_token', `The Txn-Token's "${claim}" must be a non-empty string.`, claim);
  }
  return value;
}

function fail(code: CredentialErrorCode, message: string, claim?: string): never {
  throw new CredentialError(code, message, claim === undefined ? undefined : { claim });
}
