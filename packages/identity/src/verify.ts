/**
 * Verification of bearer credentials: the issuer's own short-lived JWTs, or those of another
 * configured trusted issuer. Every check that does not depend on time or revocation runs once
 * per token; the result is cached by the token's SHA-256 until it expires, and each later
 * presentation of the same token re-checks only expiry, revocation and principals.
 */
import { ROLES, sha256Hex, type Role } from '@provenant/core';
import { jwtVerify, type JWTVerifyGetKey } from 'jose';
import { actChain, nestAct, type CredentialClaims, type IdTokenRef } from './claims.js';
import { systemClock, type Clock } from './clock.js';
import { CredentialError, type CredentialErrorCode } from './errors.js';
import { decodeCompact } from './lib/compact.js';
import { fromJoseError, keyLookup } from './lib/jose-errors.js';
import { Lru } from './lib/lru.js';
import { parseScopeClaim } from './lib/scope.js';
import { grantedRoles, type PrincipalDirectory } from './principals.js';
import type { RevocationCheck } from './revocation.js';

export { CredentialError, type CredentialErrorCode } from './errors.js';
export type { RevocationCheck } from './revocation.js';

/** Signature algorithms a trusted issuer may use. Never `none`, never a shared secret (HS*). */
export type TrustedAlg = 'EdDSA' | 'ES256' | 'RS256';
const TRUSTED_ALGS: readonly TrustedAlg[] = ['EdDSA', 'ES256', 'RS256'];
/** The `typ` of a Transaction Token (draft-ietf-oauth-transaction-tokens-10 "JWT Header"). */
export const TXN_TOKEN_TYP = 'txntoken+jwt';

export interface TrustedIssuer {
  /** The exact `iss` its tokens carry. */
  iss: string;
  /** Its keys: `createLocalJWKSet`, `createRemoteJWKSet`, or `IssuerKeyRing.jwksGetter`. */
  jwks: JWTVerifyGetKey;
  algorithms: TrustedAlg[];
  /** A `typ` header its tokens must carry (e.g. `at+jwt`); not checked when absent. */
  typ?: string;
  /**
   * For an OIDC provider trusted for human sign-in: the audience its ID tokens are issued to
   * (Provenant's client id there). Defaults to the issuer's own `audience`.
   */
  audience?: string;
}

export interface VerifiedCredential {
  /** Lowercase hex SHA-256 of the token: what logs and caches name it by. Never log the token. */
  tokenDigest: string;
  claims: CredentialClaims;
  /** The root initiator (`sub`). */
  subject: string;
  /** The actors of the `act` chain, outermost (the current actor) first. */
  actors: string[];
  /** Root first: `[sub, ...actors reversed]`; its last entry is whoever holds the credential. */
  chain: string[];
  scope: string[];
  jti: string;
  iat: number;
  exp: number;
  /** jtis of the credentials this one was exchanged from, root first. */
  ancestors: string[];
  /** Those of `ancestors` addressed to an agent: no hop of the chain (see `CredentialClaims`). */
  addressed?: string[];
  /** The ID token the chain is rooted in (the `id_token` claim), when it is. */
  idToken?: IdTokenRef;
  /**
   * The known roles of its `roles` claim (RFC 9068 §7.2.1.1), in `ROLES` order; [] when none.
   * With a directory, only those the holder still holds (see `CredentialVerifier.verify`).
   */
  roles: Role[];
}

/** How one presentation of a credential is checked. */
export interface VerifyOptions {
  /**
   * The audience `aud` must name: default the verifier's own. `null` leaves it to the caller,
   * who must check `claims.aud` itself (the issuer's token exchange does: a credential addressed
   * to an agent may be exchanged by that agent alone).
   */
  audience?: string | readonly string[] | null;
}

/** Whether `aud` (a string or a list) names `audience`. */
export function namesAudience(aud: string | readonly string[], audience: string): boolean {
  return typeof aud === 'string' ? aud === audience : aud.includes(audience);
}

/** Refuses `v` unless its `aud` names `audience` (with a list, any one of it); null: no check. */
function checkAudience(v: VerifiedCredential, audience: string | readonly string[] | null): void {
  if (audience === null) return;
  const wanted = typeof audience === 'string' ? [audience] : audience;
  if (!wanted.some((a) => namesAudience(v.claims.aud, a))) {
    fail('wrong_audience', 'The credential\'s "aud" does not name this audience.', 'aud');
  }
}

export interface CredentialVerifierOptions {
  issuers: TrustedIssuer[];
  /**
   * The audience a credential must name in `aud`; with several, any one of them (the collector's
   * token exchange also takes credentials bound to the resources its issuer serves).
   */
  audience: string | readonly string[];
  clock?: Clock;
  /** Tolerated clock difference for `exp`, `nbf` and `iat`, in seconds (default 30). */
  skewSec?: number;
  /** Largest accepted token, in bytes (default 8192), refused before any parsing. */
  maxTokenBytes?: number;
  /** Most actors in an `act` chain (default 4). */
  maxChainDepth?: number;
  revocations: RevocationCheck;
  /** Most verified tokens remembered (default 10,000; 0 disables the cache). */
  cacheSize?: number;
  /**
   * When given, every actor of the chain must be a registered, enabled principal, and the
   * subject, if registered, must not be disabled (`principal_unknown`, `principal_disabled`).
   */
  directory?: PrincipalDirectory;
}

const MAX_CLAIM_STRING = 1024;
const MAX_ANCESTORS = 64;
const MAX_ROLES = 16;

interface Trusted {
  readonly issuer: TrustedIssuer;
  readonly getKey: JWTVerifyGetKey;
}

export class CredentialVerifier {
  private readonly issuers = new Map<string, Trusted>();
  private readonly audience: string | string[];
  private readonly clock: Clock;
  private readonly skewSec: number;
  private readonly maxTokenBytes: number;
  private readonly maxChainDepth: number;
  private readonly revocations: RevocationCheck;
  private readonly directory: PrincipalDirectory | undefined;
  private readonly cache: Lru<string, VerifiedCredential>;

  constructor(opts: CredentialVerifierOptions) {
    for (const issuer of opts.issuers) {
      if (typeof issuer.iss !== 'string' || issuer.iss === '') {
        throw new TypeError('A trusted issuer needs its "iss".');
      }
      if (
        issuer.algorithms.length === 0 ||
        issuer.algorithms.some((a) => !TRUSTED_ALGS.includes(a))
      ) {
        throw new TypeError(`Trusted issuer algorithms must be among ${TRUSTED_ALGS.join(', ')}.`);
      }
      this.issuers.set(issuer.iss, { issuer, getKey: keyLookup(issuer.jwks) });
    }
    this.audience = typeof opts.audience === 'string' ? opts.audience : [...opts.audience];
    this.clock = opts.clock ?? systemClock;
    this.skewSec = nonNegativeInteger(opts.skewSec ?? 30, 'skewSec');
    this.maxTokenBytes = nonNegativeInteger(opts.maxTokenBytes ?? 8192, 'maxTokenBytes');
    this.maxChainDepth = nonNegativeInteger(opts.maxChainDepth ?? 4, 'maxChainDepth');
    this.revocations = opts.revocations;
    this.directory = opts.directory;
    this.cache = new Lru(nonNegativeInteger(opts.cacheSize ?? 10_000, 'cacheSize'));
  }

  /**
   * Verifies a credential or throws a `CredentialError`. Checks, in order: size, shape, algorithm
   * (allow-listed per issuer: never `none` or HS*), trusted `iss`, a known `kid`, the signature,
   * `aud`, `exp` / `nbf` / `iat` with skew, the required claims (`sub`, `jti`, `iat`, `exp`) and
   * their types, the `act` chain's depth; then, on every call including cache hits, revocation
   * of the credential or any ancestor, and (with a directory) its principals.
   */
  async verify(token: string, options: VerifyOptions = {}): Promise<VerifiedCredential> {
    if (typeof token !== 'string') fail('malformed_token', 'The credential is not a string.');
    const audience = options.audience === undefined ? this.audience : options.audience;
    if (token.length > this.maxTokenBytes) {
      fail('token_too_large', `The credential is larger than ${this.maxTokenBytes} bytes.`);
    }
    const now = Math.floor(this.clock() / 1000);
    const tokenDigest = sha256Hex(Buffer.from(token, 'utf8'));
    const cached = this.cache.get(tokenDigest);
    if (cached !== undefined) {
      try {
        this.checkLive(cached, now);
      } catch (e) {
        // An expired entry is dropped; a revoked one too (it will never be valid again).
        this.cache.delete(tokenDigest);
        throw e;
      }
      checkAudience(cached, audience);
      return this.withCurrentRoles(cached);
    }

    const verified = await this.verifyCold(token, tokenDigest, now);
    this.checkLive(verified, now);
    // A refusal is not cached: nor is a credential refused for its audience.
    checkAudience(verified, audience);
    this.cache.set(tokenDigest, verified);
    return this.withCurrentRoles(verified);
  }

  /**
   * `v` with the roles its holder still holds (with a directory): a role revoked in the registry
   * stops counting at once for a workload's own credential and for a delegated one (at most
   * `producer`, while the acting principal holds it). A human's own credential keeps its claim
   * until it expires: a sign-in's roles may come from the provider mapping, not the registry.
   */
  private withCurrentRoles(v: VerifiedCredential): VerifiedCredential {
    if (this.directory === undefined || v.roles.length === 0) return v;
    const holder = this.directory.get(v.actors[0] ?? v.subject);
    if (holder === undefined || (v.actors.length === 0 && holder.kind === 'human')) return v;
    const held = grantedRoles(holder);
    const roles = v.roles.filter((r) => held.includes(r));
    if (roles.length === v.roles.length) return v;
    return Object.freeze({ ...v, roles: Object.freeze(roles) as Role[] });
  }

  /** Forgets every cached verification (e.g. after the trusted keys changed). */
  clearCache(): void {
    this.cache.clear();
  }

  private async verifyCold(
    token: string,
    tokenDigest: string,
    now: number,
  ): Promise<VerifiedCredential> {
    const decoded = decodeCompact(token, this.maxTokenBytes);
    if ('failure' in decoded) {
      fail(
        decoded.failure === 'too_large' ? 'token_too_large' : 'malformed_token',
        decoded.message,
      );
    }
    // Draft-ietf-oauth-transaction-tokens-10 "Using Txn-Tokens": never in Authorization.
    if (decoded.header['typ'] === TXN_TOKEN_TYP) {
      fail(
        'txn_token_misplaced',
        'A Txn-Token is not a credential: send it in the Txn-Token header, not Authorization.',
        'typ',
      );
    }
    const alg = decoded.header['alg'];
    if (typeof alg !== 'string' || !(TRUSTED_ALGS as readonly string[]).includes(alg)) {
      fail(
        'unsupported_alg',
        `The credential's algorithm ${describe(alg)} is not accepted.`,
        'alg',
      );
    }
    const iss = decoded.payload['iss'];
    if (typeof iss !== 'string') fail('missing_claim', 'The credential has no "iss".', 'iss');
    const trusted = this.issuers.get(iss);
    if (trusted === undefined) {
      fail('wrong_issuer', 'The credential is not from a trusted issuer.', 'iss');
    }
    if (!(trusted.issuer.algorithms as readonly string[]).includes(alg)) {
      fail('unsupported_alg', `This issuer's credentials are not signed with ${alg}.`, 'alg');
    }
    const kid = decoded.header['kid'];
    if (typeof kid !== 'string' || kid === '') {
      fail('unknown_kid', 'The credential names no key (kid).', 'kid');
    }

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, trusted.getKey, {
        algorithms: trusted.issuer.algorithms,
        issuer: iss,
        // The audience is checked on every presentation (checkAudience), cached or not.
        clockTolerance: this.skewSec,
        currentDate: new Date(now * 1000),
        requiredClaims: ['sub', 'jti', 'iat', 'exp'],
        ...(trusted.issuer.typ === undefined ? {} : { typ: trusted.issuer.typ }),
      }));
    } catch (e) {
      throw fromJoseError(e);
    }
    const claims = readCredentialClaims(payload, this.maxChainDepth);
    if (claims.iat > now + this.skewSec) {
      fail('not_yet_valid', 'The credential was issued in the future.', 'iat');
    }
    return freezeVerified(claims, tokenDigest, this.maxChainDepth);
  }

  /** The checks that can change between two presentations of one token. */
  private checkLive(v: VerifiedCredential, now: number): void {
    if (v.exp <= now - this.skewSec) fail('expired', 'The credential has expired.', 'exp');
    if (this.revocations.isRevoked(v.jti)) fail('revoked', 'The credential was revoked.', 'jti');
    for (const ancestor of v.ancestors) {
      if (this.revocations.isRevoked(ancestor)) {
        fail('revoked', 'A credential this one was exchanged from was revoked.', 'ancestors');
      }
    }
    if (this.directory !== undefined) {
      if (this.directory.get(v.subject)?.disabled === true) {
        fail('principal_disabled', "The credential's subject is disabled.", 'sub');
      }
      for (const actor of v.actors) {
        const p = this.directory.get(actor);
        if (p === undefined)
          fail('principal_unknown', 'An actor of the credential is not registered.', 'act');
        if (p.disabled)
          fail('principal_disabled', 'An actor of the credential is disabled.', 'act');
      }
    }
  }
}

/**
 * The claims of a signature-checked payload, type-checked and normalised (the `act` chain
 * rebuilt from its `sub`s only). Throws `CredentialError`s. Exported for the issuer's ID tokens.
 */
export function readCredentialClaims(
  payload: Record<string, unknown>,
  maxChainDepth: number,
): CredentialClaims {
  const iss = requireString(payload, 'iss');
  const sub = requireString(payload, 'sub');
  const jti = requireString(payload, 'jti');
  const iat = requireSeconds(payload, 'iat');
  const exp = requireSeconds(payload, 'exp');
  const aud = payload['aud'];
  if (
    !(typeof aud === 'string') &&
    !(Array.isArray(aud) && aud.length > 0 && aud.every((a) => typeof a === 'string'))
  ) {
    fail('malformed_token', '"aud" must be a string or a list of strings.', 'aud');
  }
  const scopeClaim = payload['scope'] ?? '';
  const scope = typeof scopeClaim === 'string' ? parseScopeClaim(scopeClaim) : undefined;
  if (scope === undefined)
    fail('malformed_token', '"scope" must be space-separated OAuth scopes.', 'scope');

  const claims: CredentialClaims = {
    iss,
    sub,
    aud: typeof aud === 'string' ? aud : [...(aud as string[])],
    iat,
    exp,
    jti,
    scope: scope.join(' '),
  };
  if (payload['nbf'] !== undefined) claims.nbf = requireSeconds(payload, 'nbf');
  if (payload['task_id'] !== undefined) claims.task_id = requireString(payload, 'task_id');
  if (payload['act'] !== undefined) {
    const act = nestAct(actChain(payload['act'], maxChainDepth));
    if (act !== undefined) claims.act = act;
  }
  const mayAct = payload['may_act'];
  if (mayAct !== undefined) {
    const mayActSub =
      typeof mayAct === 'object' && mayAct !== null ? (mayAct as { sub?: unknown }).sub : undefined;
    if (typeof mayActSub !== 'string' || mayActSub === '') {
      fail('malformed_token', '"may_act" must be an object with a "sub".', 'may_act');
    }
    claims.may_act = { sub: mayActSub };
  }
  const ancestors = payload['ancestors'];
  if (ancestors !== undefined) {
    if (
      !Array.isArray(ancestors) ||
      ancestors.length > MAX_ANCESTORS ||
      !ancestors.every((a) => typeof a === 'string' && a !== '' && a.length <= MAX_CLAIM_STRING)
    ) {
      fail(
        'malformed_token',
        `"ancestors" must be a list of at most ${MAX_ANCESTORS} jtis.`,
        'ancestors',
      );
    }
    claims.ancestors = [...(ancestors as string[])];
  }
  const addressed = payload['addressed'];
  if (addressed !== undefined) {
    if (
      !Array.isArray(addressed) ||
      !addressed.every((a) => typeof a === 'string' && claims.ancestors?.includes(a) === true)
    ) {
      fail('malformed_token', '"addressed" must list jtis of "ancestors".', 'addressed');
    }
    claims.addressed = [...(addressed as string[])];
  }
  const idToken = payload['id_token'];
  if (idToken !== undefined) {
    const { iss: idIss, jti: idJti } =
      typeof idToken === 'object' && idToken !== null && !Array.isArray(idToken)
        ? (idToken as { iss?: unknown; jti?: unknown })
        : {};
    if (
      typeof idIss !== 'string' ||
      typeof idJti !== 'string' ||
      idIss === '' ||
      idJti === '' ||
      idIss.length > MAX_CLAIM_STRING ||
      idJti.length > MAX_CLAIM_STRING ||
      Object.keys(idToken as object).length !== 2
    ) {
      fail(
        'malformed_token',
        '"id_token" must be an object of a string "iss" and "jti".',
        'id_token',
      );
    }
    claims.id_token = { iss: idIss, jti: idJti };
  }
  const roles = payload['roles'];
  if (roles !== undefined) {
    if (
      !Array.isArray(roles) ||
      roles.length > MAX_ROLES ||
      !roles.every((r) => typeof r === 'string' && r.length <= MAX_CLAIM_STRING)
    ) {
      fail('malformed_token', `"roles" must be a list of at most ${MAX_ROLES} strings.`, 'roles');
    }
    claims.roles = [...(roles as string[])];
  }
  return claims;
}

function freezeVerified(
  claims: CredentialClaims,
  tokenDigest: string,
  maxChainDepth: number,
): VerifiedCredential {
  const actors = claims.act === undefined ? [] : actChain(claims.act, maxChainDepth);
  const verified: VerifiedCredential = {
    tokenDigest,
    claims,
    subject: claims.sub,
    actors,
    chain: [claims.sub, ...[...actors].reverse()],
    scope: claims.scope === '' ? [] : claims.scope.split(' '),
    jti: claims.jti,
    iat: claims.iat,
    exp: claims.exp,
    ancestors: claims.ancestors ?? [],
    ...(claims.addressed === undefined ? {} : { addressed: claims.addressed }),
    ...(claims.id_token === undefined ? {} : { idToken: claims.id_token }),
    // Roles another trusted issuer names that Provenant does not know carry no authority here.
    roles: ROLES.filter((r) => claims.roles?.includes(r) === true),
  };
  // Shared by every cache hit: nobody may change it.
  let act: object | undefined = claims.act;
  while (act !== undefined) {
    Object.freeze(act);
    act = (act as { act?: object }).act;
  }
  for (const value of [
    claims.aud,
    claims.may_act,
    claims.ancestors,
    claims.addressed,
    claims.id_token,
    claims.roles,
    claims,
    actors,
    verified.chain,
    verified.scope,
    verified.ancestors,
    verified.roles,
  ]) {
    if (typeof value === 'object') Object.freeze(value);
  }
  return Object.freeze(verified);
}

function requireString(payload: Record<string, unknown>, claim: string): string {
  const value = payload[claim];
  if (value === undefined) fail('missing_claim', `The credential has no "${claim}".`, claim);
  if (typeof value !== 'string' || value === '' || value.length > MAX_CLAIM_STRING) {
    fail('malformed_token', `"${claim}" must be a non-empty string.`, claim);
  }
  return value;
}

function requireSeconds(payload: Record<string, unknown>, claim: string): number {
  const value = payload[claim];
  if (value === undefined) fail('missing_claim', `The credential has no "${claim}".`, claim);
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    fail('malformed_token', `"${claim}" must be whole Unix seconds.`, claim);
  }
  return value as number;
}

function fail(code: CredentialErrorCode, message: string, claim?: string): never {
  throw new CredentialError(code, message, claim === undefined ? undefined : { claim });
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value.slice(0, 32)) : '(none)';
}

function nonNegativeInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 0)
    throw new TypeError(`${name} must be a non-negative integer.`);
  return value;
}
