/**
 * JWT authorization grants (RFC 7523 §2.1, `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer`)
 * from another trust domain, in the two profiles Provenant accepts:
 *
 * - `id_jag`: an Identity Assertion JWT Authorization Grant of a configured enterprise IdP
 *   (draft-ietf-oauth-identity-assertion-authz-grant-04, "ID-JAG Claims" and "Access Token
 *   Request" → "Processing Rules"): `typ` `oauth-id-jag+jwt`; `iss`, `sub`, `aud`, `client_id`,
 *   `jti`, `exp`, `iat` required; `aud` exactly this authorization server's issuer identifier;
 *   optional `act`, `scope`, `resource`.
 * - `identity_chaining`: the JWT authorization grant of a trusted trust domain A
 *   (draft-ietf-oauth-identity-chaining-17 §2.4 "Processing rules", RFC 7523 §3): `aud` names
 *   this authorization server (its issuer identifier or token endpoint); `iss`, `sub`, `jti`,
 *   `exp`, `iat` required (`jti` because every grant is accepted once).
 *
 * `verifyJwtGrant` checks one grant's signature and claims and returns what it says; spending
 * its `jti`, matching `client_id` with the authenticated client and resolving the subject are the
 * issuer's (`Issuer.jwtBearer`). Refusals are `CredentialError`s.
 */
import { sha256Hex } from '@provenant/core';
import { jwtVerify } from 'jose';
import { actChain } from './claims.js';
import { CredentialError, type CredentialErrorCode } from './errors.js';
import { decodeCompact } from './lib/compact.js';
import { fromJoseError, keyLookup } from './lib/jose-errors.js';
import { parseScopeClaim } from './lib/scope.js';
import type { TrustedIssuer } from './verify.js';

export const GRANT_TYPE_JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** The `typ` header every ID-JAG carries (draft-ietf-oauth-identity-assertion-authz-grant-04). */
export const ID_JAG_TYP = 'oauth-id-jag+jwt';
/** The token type an IdP issues an ID-JAG as (`requested_token_type`, `issued_token_type`). */
export const TOKEN_TYPE_ID_JAG = 'urn:ietf:params:oauth:token-type:id-jag';
/**
 * The `typ` header of the JWT authorization grants this collector issues for another domain
 * (identity chaining does not name one): RFC 7519 §5.1's `JWT`, never `at+jwt`, so no verifier
 * of Provenant credentials takes a grant for a credential, nor the reverse.
 */
export const CHAIN_GRANT_TYP = 'JWT';

export type JwtGrantProfile = 'id_jag' | 'identity_chaining';

/** What a verified grant says, as it said it (before any claims transcription). */
export interface VerifiedJwtGrant {
  readonly profile: JwtGrantProfile;
  readonly iss: string;
  /** The subject as the grant names it (the IdP's or domain A's identifier). */
  readonly sub: string;
  /** This authorization server, as the grant's `aud` named it. */
  readonly aud: string;
  readonly jti: string;
  readonly iat: number;
  readonly exp: number;
  readonly clientId?: string;
  /** The actors of its `act` claim, outermost first ([] without one). */
  readonly actors: readonly string[];
  readonly scope?: readonly string[];
  readonly resource?: readonly string[];
  /** The ID-JAG `aud_sub` claim: the IdP's transcription of the subject for this server. */
  readonly audSub?: string;
  /** Lowercase hex SHA-256 of the grant: what logs name it by. Never log the grant. */
  readonly tokenDigest: string;
}

export interface JwtGrantTrust {
  /** Enterprise IdPs whose ID-JAGs are accepted (`--id-jag-issuer`). */
  readonly idJagIssuers: readonly TrustedIssuer[];
  /** Trust domains whose JWT authorization grants are accepted (`--chain-trust`). */
  readonly chainIssuers: readonly TrustedIssuer[];
}

export interface VerifyJwtGrantOptions {
  /** This authorization server's issuer identifier (RFC 8414). */
  readonly issuer: string;
  /** Its token endpoint: also an `aud` of a chained grant (RFC 7523 §3). */
  readonly tokenEndpoint: string;
  /** Unix ms. */
  readonly now: number;
  readonly skewSec: number;
}

const GRANT_ALGS: readonly string[] = ['EdDSA', 'ES256', 'RS256'];
const MAX_GRANT_BYTES = 16_384;
const MAX_CLAIM = 1024;
const MAX_RESOURCES = 64;
const MAX_ACTORS = 32;

/** The trusted issuers of both profiles, checked once: an issuer is trusted for one profile. */
export class JwtGrantVerifier {
  private readonly issuers = new Map<
    string,
    { trusted: TrustedIssuer; profile: JwtGrantProfile; getKey: TrustedIssuer['jwks'] }
  >();

  constructor(trust: JwtGrantTrust) {
    const add = (t: TrustedIssuer, profile: JwtGrantProfile) => {
      if (typeof t.iss !== 'string' || t.iss === '') {
        throw new TypeError('A trusted grant issuer needs its "iss".');
      }
      if (this.issuers.has(t.iss)) {
        throw new TypeError(`${t.iss} is trusted twice (an ID-JAG issuer or a chained domain).`);
      }
      if (t.algorithms.length === 0 || t.algorithms.some((a) => !GRANT_ALGS.includes(a))) {
        throw new TypeError(`Grant issuer algorithms must be among ${GRANT_ALGS.join(', ')}.`);
      }
      this.issuers.set(t.iss, { trusted: t, profile, getKey: keyLookup(t.jwks) });
    };
    for (const t of trust.idJagIssuers) add(t, 'id_jag');
    for (const t of trust.chainIssuers) add(t, 'identity_chaining');
  }

  /** Whether any issuer is trusted (the token endpoint then offers the jwt-bearer grant). */
  get size(): number {
    return this.issuers.size;
  }

  /**
   * Verifies a grant or throws a `CredentialError`: size and shape (`malformed_token`,
   * `token_too_large`), algorithm (`unsupported_alg`), a trusted `iss` (`wrong_issuer`), the
   * profile's `typ` (`wrong_typ`), the signature (`unknown_kid`, `bad_signature`), `exp` / `iat`
   * (`expired`, `not_yet_valid`), the required claims (`missing_claim`), `aud`
   * (`wrong_audience`), and the optional claims' types (`malformed_token`).
   */
  async verify(assertion: string, o: VerifyJwtGrantOptions): Promise<VerifiedJwtGrant> {
    if (typeof assertion !== 'string') fail('malformed_token', 'The grant is not a string.');
    const decoded = decodeCompact(assertion, MAX_GRANT_BYTES);
    if ('failure' in decoded) {
      fail(
        decoded.failure === 'too_large' ? 'token_too_large' : 'malformed_token',
        decoded.message,
      );
    }
    const alg = decoded.header['alg'];
    if (typeof alg !== 'string' || !GRANT_ALGS.includes(alg)) {
      fail('unsupported_alg', "The grant's algorithm is not accepted.", 'alg');
    }
    const iss = decoded.payload['iss'];
    if (typeof iss !== 'string') fail('missing_claim', 'The grant has no "iss".', 'iss');
    const entry = this.issuers.get(iss);
    if (entry === undefined) {
      fail(
        'wrong_issuer',
        'The grant is not from a trusted enterprise IdP or trust domain.',
        'iss',
      );
    }
    const { trusted, profile, getKey } = entry;
    if (!(trusted.algorithms as readonly string[]).includes(alg)) {
      fail('unsupported_alg', `This issuer's grants are not signed with ${alg}.`, 'alg');
    }
    checkTyp(decoded.header['typ'], profile);

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(assertion, getKey, {
        algorithms: trusted.algorithms,
        issuer: iss,
        clockTolerance: o.skewSec,
        currentDate: new Date(o.now),
        requiredClaims:
          profile === 'id_jag'
            ? ['sub', 'aud', 'client_id', 'jti', 'exp', 'iat']
            : ['sub', 'aud', 'jti', 'exp', 'iat'],
      }));
    } catch (e) {
      throw fromJoseError(e);
    }
    const iat = seconds(payload, 'iat');
    const exp = seconds(payload, 'exp');
    if (iat > Math.floor(o.now / 1000) + o.skewSec) {
      fail('not_yet_valid', 'The grant was issued in the future.', 'iat');
    }
    const aud = checkAudience(payload['aud'], profile, o);
    const clientId = optionalString(payload, 'client_id');
    const audSub = optionalString(payload, 'aud_sub');
    const scopeClaim = payload['scope'];
    let scope: string[] | undefined;
    if (scopeClaim !== undefined) {
      scope = typeof scopeClaim === 'string' ? parseScopeClaim(scopeClaim) : undefined;
      if (scope === undefined) {
        fail('malformed_token', 'The grant\'s "scope" must be space-separated scopes.', 'scope');
      }
    }
    const resource = resources(payload['resource']);
    const actors = payload['act'] === undefined ? [] : actChain(payload['act'], MAX_ACTORS);
    return Object.freeze({
      profile,
      iss,
      sub: requiredString(payload, 'sub'),
      aud,
      jti: requiredString(payload, 'jti'),
      iat,
      exp,
      ...(clientId === undefined ? {} : { clientId }),
      actors: Object.freeze(actors),
      ...(scope === undefined ? {} : { scope: Object.freeze(scope) }),
      ...(resource === undefined ? {} : { resource: Object.freeze(resource) }),
      ...(audSub === undefined ? {} : { audSub }),
      tokenDigest: sha256Hex(Buffer.from(assertion, 'utf8')),
    });
  }
}

/**
 * What identifies one grant for single use: its issuer and `jti` (a jti is unique per issuer,
 * RFC 7519 §4.1.7), namespaced by profile. A SHA-256, hex.
 */
export function grantReplayKey(grant: Pick<VerifiedJwtGrant, 'iss' | 'jti'>): string {
  return sha256Hex(Buffer.from(JSON.stringify(['jwt_grant', grant.iss, grant.jti]), 'utf8'));
}

/** RFC 8725 §3.11 explicit typing; `typ` compared as RFC 7515 §4.1.9 says (no `application/`). */
function checkTyp(typ: unknown, profile: JwtGrantProfile): void {
  const norm =
    typeof typ === 'string' ? typ.toLowerCase().replace(/^application\//, '') : undefined;
  if (profile === 'id_jag') {
    if (norm !== ID_JAG_TYP) {
      fail('wrong_typ', `An ID-JAG must carry "typ": "${ID_JAG_TYP}".`, 'typ');
    }
    return;
  }
  // Chaining names no typ; refuse every typed token of another kind (an access token, an ID-JAG,
  // a Txn-Token …): only an untyped JWT or `JWT` is a grant.
  if (norm !== undefined && norm !== 'jwt') {
    fail('wrong_typ', 'A JWT authorization grant must carry no "typ" or "JWT".', 'typ');
  }
}

/**
 * An ID-JAG's `aud` is exactly this server's issuer identifier (a string, or a list of exactly
 * it); a chained grant's `aud` names the issuer identifier or the token endpoint.
 */
function checkAudience(aud: unknown, profile: JwtGrantProfile, o: VerifyJwtGrantOptions): string {
  const list = typeof aud === 'string' ? [aud] : aud;
  if (!Array.isArray(list) || list.length === 0 || !list.every((a) => typeof a === 'string')) {
    fail('malformed_token', '"aud" must be a string or a list of strings.', 'aud');
  }
  if (profile === 'id_jag') {
    if (list.length !== 1 || list[0] !== o.issuer) {
      fail(
        'wrong_audience',
        'The ID-JAG is not for this authorization server (its "aud" must be exactly its issuer).',
        'aud',
      );
    }
    return o.issuer;
  }
  const named = (list as string[]).find((a) => a === o.issuer || a === o.tokenEndpoint);
  if (named === undefined) {
    fail('wrong_audience', 'The grant is not for this authorization server ("aud").', 'aud');
  }
  return named;
}

function resources(value: unknown): string[] | undefined {
  if (value === undefined) return undefined;
  const list = typeof value === 'string' ? [value] : value;
  if (
    !Array.isArray(list) ||
    list.length === 0 ||
    list.length > MAX_RESOURCES ||
    !list.every((r) => typeof r === 'string' && r.length <= MAX_CLAIM && URL.canParse(r))
  ) {
    fail('malformed_token', '"resource" must be a URI or a list of URIs.', 'resource');
  }
  return [...(list as string[])];
}

function requiredString(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (value === undefined) fail('missing_claim', `The grant has no "${claim}".`, claim);
  if (typeof value !== 'string' || value === '' || value.length > MAX_CLAIM) {
    fail('malformed_token', `The grant's "${claim}" must be a non-empty string.`, claim);
  }
  return value;
}

function optionalString(payload: Record<string, unknown>, claim: string): string | undefined {
  return payload[claim] === undefined ? undefined : requiredString(payload, claim);
}

function seconds(payload: Record<string, unknown>, claim: string): number {
  const value = payload[claim];
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    fail('malformed_token', `The grant's "${claim}" must be whole Unix seconds.`, claim);
  }
  return value as number;
}

function fail(code: CredentialErrorCode, message: string, claim?: string): never {
  throw new CredentialError(code, message, claim === undefined ? undefined : { claim });
}
