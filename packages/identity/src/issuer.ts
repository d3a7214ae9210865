/**
 * The token service: mints credentials (client_credentials, RFC 8693 token exchange, ID-token
 * sign-in, development sign-in), revokes them, and describes for each the witness record the
 * server must write to the ledger — never the token itself.
 */
import {
  DELEGABLE_ROLES,
  ROLES,
  digestOf,
  isRole,
  sha256Hex,
  uuidv7,
  type Role,
} from '@provenant/core';
import { jwtVerify, SignJWT } from 'jose';
import { verifyClientAssertion } from './assertion.js';
import { nestAct, type CredentialClaims, type IdTokenRef } from './claims.js';
import { systemClock, type Clock } from './clock.js';
import { checkExchangePolicy, planExchange, type ExchangePolicy } from './delegation.js';
import { CredentialError, DelegationError, OAuthError, toOAuthError } from './errors.js';
import { decodeCompact } from './lib/compact.js';
import { fromJoseError, keyLookup } from './lib/jose-errors.js';
import {
  CHAIN_GRANT_TYP,
  GRANT_TYPE_JWT_BEARER,
  JwtGrantVerifier,
  grantReplayKey,
  type VerifiedJwtGrant,
} from './jwt-grant.js';
import { normalizeScopes } from './lib/scope.js';
import type { IssuerKeyRing } from './keys.js';
import {
  WORKLOAD_KINDS,
  grantedRoles,
  principalIdProblem,
  type Principal,
  type PrincipalDirectory,
} from './principals.js';
import { MemoryReplayCache, type ReplayCache, type RevocationStore } from './revocation.js';
import { namesAudience } from './verify.js';
import type { TrustedIssuer, VerifiedCredential, VerifyOptions } from './verify.js';
import type { SvidVerifier, VerifiedSvid } from './spiffe.js';
import { TOKEN_TYPE_TXN_TOKEN, TXN_TOKEN_TYP, txnTokenClaims } from './txn-token.js';

export { OAuthError, toOAuthError, type OAuthErrorCode } from './errors.js';
export type { RevocationStore } from './revocation.js';

export const GRANT_TYPE_TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const TOKEN_TYPE_ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
export const TOKEN_TYPE_JWT = 'urn:ietf:params:oauth:token-type:jwt';
export const TOKEN_TYPE_ID_TOKEN = 'urn:ietf:params:oauth:token-type:id_token';
/** The `typ` header of every credential this issuer signs (RFC 9068). */
export const CREDENTIAL_TYP = 'at+jwt';

export interface IssuerOptions {
  /** `iss` of every credential, e.g. http://127.0.0.1:7410. */
  issuer: string;
  /** `aud` of every credential not bound to a resource (see `resources`). */
  audience: string;
  /**
   * The protected resources (RFC 8707 resource indicators, e.g. an MCP proxy's
   * `https://mcp.example/mcp`) this issuer may bind a credential to: a request naming one gets
   * a credential whose `aud` is that resource alone, which this collector's own API does not
   * accept. Any other resource is refused (`invalid_target`). Default: none.
   */
  resources?: readonly string[];
  keys: IssuerKeyRing;
  directory: PrincipalDirectory;
  /** Verifies subject tokens; must trust this issuer's keys (see `keyRingIssuer`). */
  verifier: { verify(token: string, options?: VerifyOptions): Promise<VerifiedCredential> };
  /** Spends client-assertion jtis. */
  replay: ReplayCache;
  /**
   * JWT-SVIDs accepted as client assertions and actor tokens (SPIFFE trust bundles). Its
   * principals are looked up in `directory`, which should be a `SpiffeDirectory` over the
   * registry when path patterns admit unregistered SVIDs.
   */
  svids?: SvidVerifier;
  /**
   * Act as the trust domain's Txn-Token Service (draft-ietf-oauth-transaction-tokens-10): a
   * token exchange asking `requested_token_type` txn_token gets one, `aud` this trust domain,
   * living `lifetimeSec` (default 300) at most, and never beyond its subject credential.
   */
  txnTokens?: { trustDomain: string; lifetimeSec?: number };
  /**
   * Spends ID tokens (each exchanged at most once), keyed by `idTokenReplayKey`; kept apart from
   * assertion jtis. Default: an in-memory cache (one process only).
   */
  idTokenReplay?: ReplayCache;
  /**
   * The scope ceiling of a root credential's principal that has none of its own (`scopes`), or
   * is not registered. Absent: no ceiling, the request is granted as asked (development only).
   */
  defaultScopeCeiling?: readonly string[];
  /**
   * Whether a signing key was retired at once elsewhere (another member's `--retire-now`):
   * the issuer then signs nothing with it (503, `key_retired`) rather than hand out credentials
   * every verifier refuses.
   */
  keyRetiredElsewhere?: (kid: string) => boolean;
  revocations: RevocationStore;
  policy: ExchangePolicy;
  clock?: Clock;
  /** The token endpoint URL: an `aud` of client assertions (the issuer is the other). */
  tokenEndpoint: string;
  /** OIDC providers whose ID tokens sign humans in (as an exchange's subject token). */
  trustedIdTokenIssuers?: TrustedIssuer[];
  /** Enables `devLogin()`; off by default. Never in production. */
  devLogin?: boolean;
  /** Tolerated clock difference for ID tokens and client assertions, in seconds (default 30). */
  skewSec?: number;
  /** Published `jwks_uri` (default: the issuer's origin + /.well-known/jwks.json). */
  jwksUri?: string;
  /** Published `revocation_endpoint` (default: the issuer's origin + /v1/token/revoke). */
  revocationEndpoint?: string;
  /**
   * Enterprise IdPs whose ID-JAGs (draft-ietf-oauth-identity-assertion-authz-grant-04) sign a
   * human in through the JWT bearer grant (`jwtBearer`).
   */
  idJagIssuers?: TrustedIssuer[];
  /**
   * Trust domains whose JWT authorization grants (draft-ietf-oauth-identity-chaining-17 §2.4)
   * are accepted through the JWT bearer grant (`jwtBearer`).
   */
  chainIssuers?: TrustedIssuer[];
  /**
   * The authorization servers of other trust domains (their issuer identifiers) this issuer
   * issues JWT authorization grants for (`chainGrant`, §2.3). Default: none.
   */
  chainAudiences?: readonly string[];
  /**
   * Spends JWT authorization grants (each accepted once), keyed by `grantReplayKey`, in its own
   * namespace. Default: an in-memory cache (one process only).
   */
  grantReplay?: ReplayCache;
}

export type Grant =
  | 'client_credentials'
  | 'token_exchange'
  | 'id_token'
  | 'dev_login'
  | 'sign_in'
  /** From an ID-JAG (JWT bearer grant). */
  | 'id_jag'
  /** From another trust domain's JWT authorization grant (JWT bearer grant). */
  | 'jwt_bearer'
  /** A JWT authorization grant this issuer issued for another trust domain (token exchange). */
  | 'chain_grant'
  /** A Txn-Token this issuer issued as its trust domain's Txn-Token Service. */
  | 'txn_token';

/** The JWT authorization grant a credential was issued on, as its witness records it. */
export interface JwtGrantWitness {
  profile: VerifiedJwtGrant['profile'];
  /** The grant's issuer (the IdP, or trust domain A). */
  iss: string;
  jti: string;
  /** This authorization server, as the grant named it (trust domain B). */
  aud: string;
  /** The grant's `sub`, before any claims transcription. */
  sub: string;
  clientId?: string;
  /** The grant's `act` chain, outermost first. */
  act?: string[];
  scope?: string[];
  resource?: string[];
}

/** What the issuer witnessed, for the server to write as a ledger record. Never holds a token. */
export interface WitnessEvent {
  type: 'credential.issued' | 'delegation.granted' | 'credential.revoked';
  jti: string;
  /** The credential this one was exchanged from. */
  parentJti?: string;
  /** The root initiator ('' when a revocation named only a jti). */
  sub: string;
  /** The new actor of a delegation. */
  actor?: string;
  /** Who handed authority on (the subject credential's holder) … */
  from?: string;
  /** … to whom (the new actor). */
  to?: string;
  scope: string[];
  /** The roles the credential carries (its `roles` claim). */
  roles: Role[];
  /** Unix seconds. */
  iat: number;
  /** Unix seconds. */
  exp: number;
  ancestors: string[];
  /** A chain rooted in an OIDC provider's ID token: that token (its issuer and id). */
  idToken?: IdTokenRef;
  grant: Grant;
  /** A credential addressed to an agent (RFC 8693 `audience`, `resource`): its `aud`. */
  audience?: string[];
  /** How the workload (the client, or the exchange's new actor) authenticated, with a JWT-SVID. */
  authn?: SvidEvidence;
  /** A credential issued on a JWT authorization grant: the grant, both hops. */
  jwtGrant?: JwtGrantWitness;
  /** A Txn-Token issued (grant `txn_token`; `jti` is its `txn`): what a record keeps of it. */
  txnToken?: TxnTokenEvidence;
}

/** What a record keeps of a Txn-Token (draft -10 Privacy, "Logging"): never the token. */
export interface TxnTokenEvidence {
  txn: string;
  /** `sha256:` of the token. */
  tokenDigest: string;
  /** `sha256:` of its canonical `tctx`, when it has one. */
  tctxDigest?: string;
  /** The workload that requested it. */
  reqWl: string;
  trustDomain: string;
}

/** A Txn-Token Request (draft -10 "Txn-Token Request"): an RFC 8693 exchange for a txn_token. */
export interface TxnTokenRequest {
  /** The requesting workload's RFC 7523 client assertion (its key, or a JWT-SVID). */
  clientAssertion: string;
  subjectToken: string;
  subjectTokenType: string;
  /** Must be the trust domain name. */
  audience?: string;
  /** The transaction's purpose: within the subject credential's scope. */
  scope?: string[];
  /** `request_details`: a JSON object, becomes `tctx`. */
  requestDetails?: string;
  /** `request_context`: a JSON object, becomes `rctx`. */
  requestContext?: string;
}

/** The evidence of a JWT-SVID authentication a witness record keeps (never the SVID). */
export interface SvidEvidence {
  method: 'jwt_svid';
  spiffeId: string;
  trustDomain: string;
  /** The trust bundle key that verified the SVID. */
  kid: string;
}

/** A workload authenticated at the token endpoint, and with what. */
interface Authenticated {
  principal: Principal;
  svid?: VerifiedSvid;
}

/** RFC 7523 §2.1 JWT bearer grant: an authorization grant of another trust domain. */
export interface JwtBearerRequest {
  /** The grant (`assertion`): an ID-JAG or a trusted domain's JWT authorization grant. */
  assertion: string;
  /** The client's own RFC 7523 client assertion: it becomes the credential's actor. */
  clientAssertion: string;
  scope?: string[];
  requestedLifetimeSec?: number;
}

/**
 * Identity chaining §2.3: a token exchange for a JWT authorization grant that another trust
 * domain's authorization server (`audience` or `resource`) accepts.
 */
export interface ChainGrantRequest {
  /** A credential of this issuer (`access_token` or `jwt` token type). */
  subjectToken: string;
  /** The holder's client assertion (RFC 7523): only the holder may carry its credential out. */
  actorToken: string;
  /** The other domain's authorization server, as a logical name (its issuer identifier). */
  audience?: string;
  /** The other domain's authorization server, as a URI (its issuer identifier). */
  resource?: string;
  scope?: string[];
  requestedLifetimeSec?: number;
}

/** The issued JWT authorization grant and the witness record of its issue. */
export interface IssuedGrant {
  grant: string;
  /** Seconds until `exp`. */
  expiresIn: number;
  scope: string[];
  witness: WitnessEvent;
}

/**
 * A human signed in through an identity provider (the OIDC sign-in of the console and CLI): the
 * caller has already verified the provider's answer. See `Issuer.signIn`.
 */
export interface SignInRequest {
  /** The principal id: `user:<id>` or `<OIDC iss>#<sub>`. */
  subject: string;
  /** Roles the deployment's configuration maps this sign-in to (provider groups or claims). */
  roles?: readonly string[];
  /** Requested scopes; absent: the ceiling (see `rootScope`). */
  scope?: readonly string[];
  requestedLifetimeSec?: number;
  /** RFC 8707: the resource the credential is for (one of the issuer's `resources`). */
  resource?: string;
}

export interface IssuedCredential {
  token: string;
  claims: CredentialClaims;
  /** Seconds until `exp`. */
  expiresIn: number;
  witness: WitnessEvent;
}

export type SubjectTokenType =
  typeof TOKEN_TYPE_ACCESS_TOKEN | typeof TOKEN_TYPE_JWT | typeof TOKEN_TYPE_ID_TOKEN;

export interface ExchangeRequest {
  subjectToken: string;
  subjectTokenType: SubjectTokenType;
  /** The new actor's client assertion (RFC 7523). */
  actorToken: string;
  actorTokenType: typeof TOKEN_TYPE_JWT;
  scope?: string[];
  requestedLifetimeSec?: number;
  /**
   * RFC 8693 §2.1 `audience`: the principal id of the agent the new credential is for. With it
   * (or `resource`) the exchange addresses the subject credential: the actor must be its holder,
   * the chain stays as it is, and only that agent can use the result, by exchanging it in turn.
   */
  audience?: string;
  /** RFC 8693 §2.1 / RFC 8707 `resource`: the URI of the service it is for (an A2A endpoint). */
  resource?: string;
}

/** A `TrustedIssuer` for this issuer's own credentials, following the ring's rotations. */
export function keyRingIssuer(
  iss: string,
  keys: IssuerKeyRing,
  maxTokenLifetimeSec: number,
  clock: Clock = systemClock,
): TrustedIssuer {
  return {
    iss,
    jwks: keys.jwksGetter(maxTokenLifetimeSec, clock),
    algorithms: ['EdDSA', 'ES256'],
    typ: CREDENTIAL_TYP,
  };
}

const SUBJECT_TOKEN_TYPES: readonly string[] = [
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_JWT,
  TOKEN_TYPE_ID_TOKEN,
];
const ID_TOKEN_ALGS: readonly string[] = ['EdDSA', 'ES256', 'RS256'];
const MAX_ID_TOKEN_BYTES = 16_384;

/**
 * Every method either returns an `IssuedCredential` (or a witness) or throws an `OAuthError`
 * ready for the token endpoint's wire (`code`, `status`, and `details.code` naming the precise
 * rule); anything else it throws is a bug.
 */
export class Issuer {
  private readonly o: IssuerOptions;
  private readonly clock: Clock;
  private readonly skewSec: number;
  private readonly idTokenIssuers = new Map<string, TrustedIssuer>();
  private readonly idTokenReplay: ReplayCache;
  private readonly grants: JwtGrantVerifier;
  private readonly grantReplay: ReplayCache;

  constructor(o: IssuerOptions) {
    checkExchangePolicy(o.policy);
    for (const url of [o.issuer, o.tokenEndpoint]) {
      if (!URL.canParse(url)) throw new TypeError(`${JSON.stringify(url)} is not a URL.`);
    }
    for (const t of o.trustedIdTokenIssuers ?? []) {
      if (t.algorithms.length === 0 || t.algorithms.some((a) => !ID_TOKEN_ALGS.includes(a))) {
        throw new TypeError(
          `ID-token issuer algorithms must be among ${ID_TOKEN_ALGS.join(', ')}.`,
        );
      }
      this.idTokenIssuers.set(t.iss, t);
    }
    this.o = o;
    this.clock = o.clock ?? systemClock;
    this.skewSec = o.skewSec ?? 30;
    this.idTokenReplay = o.idTokenReplay ?? new MemoryReplayCache({ clock: this.clock });
    this.grants = new JwtGrantVerifier({
      idJagIssuers: o.idJagIssuers ?? [],
      chainIssuers: o.chainIssuers ?? [],
    });
    this.grantReplay = o.grantReplay ?? new MemoryReplayCache({ clock: this.clock });
    for (const a of o.chainAudiences ?? []) {
      if (!URL.canParse(a)) throw new TypeError(`${JSON.stringify(a)} is not a URL.`);
    }
  }

  /**
   * RFC 7523 §2.1 JWT bearer grant (`urn:ietf:params:oauth:grant-type:jwt-bearer`): an ID-JAG
   * of a trusted enterprise IdP, or a trusted trust domain's JWT authorization grant, presented
   * by a registered client that authenticates with its own assertion. The grant is verified
   * (`JwtGrantVerifier`) and spent (each `jti` once per issuer, `grant_replayed`); an ID-JAG's
   * `client_id` must be the authenticated client, and so must a chained grant's when it names
   * one (`client_mismatch`). The subject is the grant's own, namespaced, never transcribed into
   * someone else (see `grantSubject`). The answer is a delegation from that subject to the
   * client, as an ID-token exchange is, with scopes within the grant's and the subject's ceiling.
   */
  async jwtBearer(req: JwtBearerRequest): Promise<IssuedCredential> {
    return this.wire(async () => {
      const now = this.clock();
      const { principal: client, svid } = await this.authenticate(req.clientAssertion, now);
      const grant = await this.grants.verify(req.assertion, {
        issuer: this.o.issuer,
        tokenEndpoint: this.o.tokenEndpoint,
        now,
        skewSec: this.skewSec,
      });
      // Spent as soon as it verifies, whoever presented it: a stolen copy is tried once at most.
      if (!(await this.grantReplay.useOnce(grantReplayKey(grant), grant.exp + this.skewSec))) {
        throw new CredentialError('grant_replayed', 'This grant was already used.', {
          claim: 'jti',
        });
      }
      if (grant.clientId !== undefined && grant.clientId !== client.id) {
        throw new CredentialError(
          'client_mismatch',
          'The grant was issued for another client (client_id).',
          { claim: 'client_id' },
        );
      }
      const subject = grantSubject(grant, this.o.directory);
      const known = this.o.directory.get(subject);
      const ceiling = known?.scopes ?? this.o.defaultScopeCeiling;
      // The grant's scopes, within the subject's ceiling (a subset may be granted, -04 §4.4.1).
      const held = grant.scope ?? ceiling ?? [];
      const available = ceiling === undefined ? [...held] : held.filter((x) => ceiling.includes(x));
      const iat = Math.floor(now / 1000);
      const root: VerifiedCredential = {
        tokenDigest: grant.tokenDigest,
        claims: {
          iss: grant.iss,
          sub: subject,
          aud: grant.aud,
          iat,
          exp: iat + this.o.policy.maxLifetimeSec,
          jti: grant.jti,
          scope: available.join(' '),
        },
        subject,
        actors: [],
        chain: [subject],
        scope: available,
        jti: grant.jti,
        iat,
        exp: iat + this.o.policy.maxLifetimeSec,
        ancestors: [],
        roles: [],
      };
      const plan = planExchange({
        subject: root,
        actor: client,
        directory: this.o.directory,
        ...(req.scope === undefined ? {} : { requestedScope: req.scope }),
        ...(req.requestedLifetimeSec === undefined
          ? {}
          : { requestedLifetimeSec: req.requestedLifetimeSec }),
        now,
        policy: this.o.policy,
      });
      const roles = grantedRoles(client).filter((r) => DELEGABLE_ROLES.includes(r));
      const claims = this.claims(plan.sub, plan.iat, plan.exp, plan.scope, roles, now);
      const act = nestAct(plan.actors);
      if (act !== undefined) claims.act = act;
      return this.issue(claims, plan.iat, {
        type: 'delegation.granted',
        jti: claims.jti,
        sub: plan.sub,
        actor: client.id,
        from: subject,
        to: client.id,
        scope: plan.scope,
        roles,
        iat: plan.iat,
        exp: plan.exp,
        ancestors: [],
        grant: grant.profile === 'id_jag' ? 'id_jag' : 'jwt_bearer',
        ...(svid === undefined ? {} : { authn: svidEvidence(svid) }),
        jwtGrant: {
          profile: grant.profile,
          iss: grant.iss,
          jti: grant.jti,
          aud: grant.aud,
          sub: grant.sub,
          ...(grant.clientId === undefined ? {} : { clientId: grant.clientId }),
          ...(grant.actors.length === 0 ? {} : { act: [...grant.actors] }),
          ...(grant.scope === undefined ? {} : { scope: [...grant.scope] }),
          ...(grant.resource === undefined ? {} : { resource: [...grant.resource] }),
        },
      });
    });
  }

  /**
   * Identity chaining §2.3 (draft-ietf-oauth-identity-chaining-17): a token exchange with
   * `requested_token_type` `urn:ietf:params:oauth:token-type:jwt` for the authorization server
   * of another trust domain, named by `audience` or `resource` (one of `chainAudiences`, else
   * `invalid_target`). The subject credential must be this collector's and its holder must ask
   * (`actorToken`). The grant keeps the subject (`sub`, never transcribed) and the chain (`act`),
   * narrows the scopes as asked, is addressed to that server alone (`aud`), lives at most
   * `GRANT_MAX_LIFETIME_SEC` and never beyond the subject credential, and is witnessed as
   * `credential.issued` (`grant: chain_grant`, `aud`, `parent_jti`).
   */
  async chainGrant(req: ChainGrantRequest): Promise<IssuedGrant> {
    return this.wire(async () => {
      const now = this.clock();
      const target = this.chainTarget(req.audience, req.resource);
      // A credential for this collector's own API: not one bound to a resource or an agent.
      const subject = await this.o.verifier.verify(req.subjectToken, {
        audience: this.o.audience,
      });
      if (subject.claims.iss !== this.o.issuer) {
        throw new OAuthError(
          'invalid_grant',
          "Only this issuer's credentials can be chained from here.",
          { code: 'wrong_issuer' },
        );
      }
      const { principal: actor, svid } = await this.authenticate(req.actorToken, now);
      const holder = subject.actors[0] ?? subject.subject;
      if (actor.id !== holder) {
        throw new OAuthError(
          'invalid_request',
          "Only the credential's holder may carry it to another trust domain.",
          { code: 'audience_not_holder' },
        );
      }
      const asked = req.scope === undefined ? undefined : normalizeScopes(req.scope);
      if (req.scope !== undefined && asked === undefined) {
        throw new DelegationError(
          'invalid_scope',
          'The requested scope is not a list of OAuth scope tokens.',
        );
      }
      const notHeld = (asked ?? []).filter((x) => !subject.scope.includes(x));
      if (notHeld.length > 0) {
        throw new DelegationError(
          'invalid_scope',
          "The requested scope is wider than the credential's.",
          { notHeld },
        );
      }
      const scope = asked ?? [...subject.scope];
      const lifetime = req.requestedLifetimeSec ?? GRANT_DEFAULT_LIFETIME_SEC;
      if (!Number.isSafeInteger(lifetime) || lifetime < 1 || lifetime > GRANT_MAX_LIFETIME_SEC) {
        throw new DelegationError(
          'invalid_lifetime',
          `A grant's lifetime must be 1..${GRANT_MAX_LIFETIME_SEC} seconds.`,
        );
      }
      const iat = Math.floor(now / 1000);
      const exp = Math.min(subject.exp, iat + lifetime);
      if (exp <= iat) {
        throw new DelegationError('subject_expired', 'The subject credential has expired.');
      }
      const jti = uuidv7(now);
      const key = this.o.keys.current();
      if (this.o.keyRetiredElsewhere?.(key.kid) === true) {
        throw new OAuthError(
          'temporarily_unavailable',
          "This issuer's signing key was retired; it needs the new issuer key ring.",
          { code: 'key_retired' },
        );
      }
      const claims: Record<string, unknown> = {
        iss: this.o.issuer,
        sub: subject.subject,
        aud: target,
        iat,
        exp,
        jti,
        scope: scope.join(' '),
      };
      if (subject.claims.act !== undefined) claims['act'] = subject.claims.act;
      const grant = await new SignJWT(claims)
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CHAIN_GRANT_TYP })
        .sign(key.privateKey);
      const ancestors = [...subject.ancestors, subject.jti];
      return {
        grant,
        expiresIn: exp - iat,
        scope,
        witness: {
          type: 'credential.issued',
          jti,
          parentJti: subject.jti,
          sub: subject.subject,
          actor: holder,
          scope,
          roles: [],
          iat,
          exp,
          ancestors,
          grant: 'chain_grant',
          audience: [target],
          ...(svid === undefined ? {} : { authn: svidEvidence(svid) }),
        },
      };
    });
  }

  /** The other domain's authorization server a chained grant is for, or `invalid_target`. */
  private chainTarget(audience: string | undefined, resource: string | undefined): string {
    if (audience !== undefined && resource !== undefined && audience !== resource) {
      throw new OAuthError(
        'invalid_target',
        '"audience" and "resource" name two authorization servers; name one.',
        { code: 'chain_audience_unknown' },
      );
    }
    const target = audience ?? resource;
    if (target === undefined) {
      throw new OAuthError(
        'invalid_target',
        'Name the authorization server of the other trust domain in "audience" or "resource".',
        { code: 'audience_required' },
      );
    }
    if (!(this.o.chainAudiences ?? []).includes(target)) {
      throw new OAuthError(
        'invalid_target',
        `This authorization server issues no grant for ${JSON.stringify(target.slice(0, 200))}.`,
        { code: 'chain_audience_unknown' },
      );
    }
    return target;
  }

  /** RFC 6749 §4.4 with an RFC 7523 assertion: the workload gets a credential for itself. */
  async clientCredentials(
    assertion: string,
    scope?: string[],
    resource?: string,
  ): Promise<IssuedCredential> {
    return this.wire(async () => {
      const now = this.clock();
      const aud = this.audienceFor(resource);
      const { principal: client, svid } = await this.authenticate(assertion, now);
      return this.issueRoot({
        aud,
        sub: client.id,
        lifetimeSec: this.o.policy.defaultLifetimeSec,
        scope: this.rootScope(client, scope),
        roles: grantedRoles(client),
        grant: 'client_credentials',
        now,
        ...(svid === undefined ? {} : { authn: svidEvidence(svid) }),
      });
    });
  }

  /**
   * RFC 8693 token exchange: the subject credential's holder delegates to the actor that signed
   * `actorToken`. The result keeps `sub` (the root initiator) and nests `act` with the new
   * actor outermost, under the rules of `planExchange`. With an ID-token subject (a human signing
   * in through a trusted OIDC provider), `sub` is `user:<sub>` when such a human is registered,
   * else `<iss>#<sub>`.
   */
  async exchange(req: ExchangeRequest): Promise<IssuedCredential> {
    return this.wire(async () => {
      if (!SUBJECT_TOKEN_TYPES.includes(req.subjectTokenType)) {
        throw new OAuthError('invalid_request', 'Unsupported subject_token_type.', {
          code: 'unsupported_token_type',
        });
      }
      if (req.actorTokenType !== TOKEN_TYPE_JWT) {
        throw new OAuthError('invalid_request', `actor_token_type must be ${TOKEN_TYPE_JWT}.`, {
          code: 'unsupported_token_type',
        });
      }
      const now = this.clock();
      const fromIdToken = req.subjectTokenType === TOKEN_TYPE_ID_TOKEN;
      // Its audience is checked below, once the actor is known: a credential addressed to an
      // agent is exchanged by that agent alone.
      const subject = fromIdToken
        ? await this.verifyIdToken(req.subjectToken, req.scope, now)
        : await this.o.verifier.verify(req.subjectToken, { audience: null });
      if (!fromIdToken && subject.claims.iss !== this.o.issuer) {
        throw new OAuthError(
          'invalid_grant',
          "Only this issuer's credentials can be exchanged here.",
          {
            code: 'wrong_issuer',
          },
        );
      }
      const { principal: actor, svid } = await this.authenticate(req.actorToken, now);
      const forUs =
        fromIdToken ||
        [this.o.audience, ...(this.o.resources ?? [])].some((a) =>
          namesAudience(subject.claims.aud, a),
        );
      if (!forUs && !namesAudience(subject.claims.aud, actor.id)) {
        throw new CredentialError(
          'wrong_audience',
          'The subject credential is addressed to another agent.',
          { claim: 'aud' },
        );
      }
      if (req.audience !== undefined || req.resource !== undefined) {
        if (fromIdToken || !forUs) {
          throw new OAuthError(
            'invalid_request',
            'Only a credential of this collector can be addressed to an agent.',
            { code: 'audience_not_allowed' },
          );
        }
        return this.address(subject, actor, req, now);
      }
      const plan = planExchange({
        subject,
        actor,
        directory: this.o.directory,
        ...(req.scope === undefined ? {} : { requestedScope: req.scope }),
        ...(req.requestedLifetimeSec === undefined
          ? {}
          : { requestedLifetimeSec: req.requestedLifetimeSec }),
        now,
        policy: this.o.policy,
      });
      // An ID token is the root of the chain but not a Provenant credential: no ancestor. The
      // credential names it in its own claim instead (the first hop's parent), kept on every
      // credential exchanged from this one.
      const ancestors = fromIdToken ? [] : plan.ancestors;
      const idToken: IdTokenRef | undefined = fromIdToken
        ? { iss: subject.claims.iss, jti: subject.jti }
        : subject.idToken;
      // Reading evidence is not delegable: at most `producer`, and only if the actor holds it.
      const roles = grantedRoles(actor).filter((r) => DELEGABLE_ROLES.includes(r));
      const claims = this.claims(plan.sub, plan.iat, plan.exp, plan.scope, roles, now);
      if (subject.claims.task_id !== undefined) claims.task_id = subject.claims.task_id;
      const act = nestAct(plan.actors);
      if (act !== undefined) claims.act = act;
      if (ancestors.length > 0) claims.ancestors = ancestors;
      if (idToken !== undefined) claims.id_token = { ...idToken };
      // A subject addressed to this actor added no hop: the hops' credentials are the others.
      const addressed = [...(subject.addressed ?? []), ...(forUs ? [] : [subject.jti])];
      if (addressed.length > 0) claims.addressed = addressed;
      return this.issue(claims, plan.iat, {
        type: 'delegation.granted',
        jti: claims.jti,
        ...(fromIdToken ? {} : { parentJti: plan.parentJti }),
        sub: plan.sub,
        actor: actor.id,
        from: subject.actors[0] ?? subject.subject,
        to: actor.id,
        scope: plan.scope,
        roles,
        iat: plan.iat,
        exp: plan.exp,
        ancestors,
        ...(idToken === undefined ? {} : { idToken: { ...idToken } }),
        grant: fromIdToken ? 'id_token' : 'token_exchange',
        ...(svid === undefined ? {} : { authn: svidEvidence(svid) }),
      });
    });
  }

  /**
   * The subject credential addressed to one agent (RFC 8693 `audience`, `resource`): the same
   * initiator and chain, scopes as requested within its own, a lifetime within its own, `aud`
   * the agent (and the resource), `may_act` the agent. Only its holder may ask, and only for a
   * registered, enabled agent. The agent it names cannot act with it: it exchanges it for a
   * credential of its own (`exchange` accepts a subject addressed to its actor), which adds
   * the hop holder → agent to the chain.
   */
  private async address(
    subject: VerifiedCredential,
    actor: Principal,
    req: ExchangeRequest,
    now: number,
  ): Promise<IssuedCredential> {
    const holder = subject.actors[0] ?? subject.subject;
    if (actor.id !== holder) {
      throw new OAuthError(
        'invalid_request',
        "Only the credential's holder may address it to another agent.",
        { code: 'audience_not_holder' },
      );
    }
    const audience = req.audience;
    if (audience === undefined) {
      throw new OAuthError(
        'invalid_target',
        'Name the agent the credential is for in "audience".',
        {
          code: 'audience_required',
        },
      );
    }
    const target = this.o.directory.get(audience);
    if (
      target === undefined ||
      (target.kind !== 'agent_instance' && target.kind !== 'agent') ||
      audience === holder
    ) {
      throw new OAuthError('invalid_target', 'The audience is not another registered agent.', {
        code: 'audience_unknown',
      });
    }
    if (target.disabled) {
      throw new OAuthError('invalid_target', `${audience} is disabled.`, {
        code: 'audience_disabled',
      });
    }
    const resource = req.resource;
    if (
      resource !== undefined &&
      (resource.length > 1024 || !URL.canParse(resource) || new URL(resource).hash !== '')
    ) {
      throw new OAuthError(
        'invalid_target',
        '"resource" must be an absolute URI with no fragment.',
        {
          code: 'invalid_resource',
        },
      );
    }
    const asked = req.scope === undefined ? undefined : normalizeScopes(req.scope);
    if (req.scope !== undefined && asked === undefined) {
      throw new DelegationError(
        'invalid_scope',
        'The requested scope is not a list of OAuth scope tokens.',
      );
    }
    const notHeld = (asked ?? []).filter((x) => !subject.scope.includes(x));
    if (notHeld.length > 0) {
      throw new DelegationError(
        'invalid_scope',
        "The requested scope is wider than the credential's.",
        {
          notHeld,
        },
      );
    }
    const scope = asked ?? [...subject.scope];
    const iat = Math.floor(now / 1000);
    const exp = Math.min(subject.exp, iat + this.rootLifetime(req.requestedLifetimeSec));
    if (exp <= iat) {
      throw new DelegationError('subject_expired', 'The subject credential has expired.');
    }
    const claims = this.claims(subject.subject, iat, exp, scope, [], now);
    claims.aud = resource === undefined ? [audience] : [audience, resource];
    claims.may_act = { sub: audience };
    if (subject.claims.task_id !== undefined) claims.task_id = subject.claims.task_id;
    if (subject.claims.act !== undefined) claims.act = subject.claims.act;
    const ancestors = [...subject.ancestors, subject.jti];
    claims.ancestors = ancestors;
    if (subject.addressed !== undefined) claims.addressed = [...subject.addressed];
    if (subject.idToken !== undefined) claims.id_token = { ...subject.idToken };
    return this.issue(claims, iat, {
      type: 'credential.issued',
      jti: claims.jti,
      parentJti: subject.jti,
      sub: subject.subject,
      actor: holder,
      from: holder,
      to: audience,
      scope,
      roles: [],
      iat,
      exp,
      ancestors,
      ...(subject.idToken === undefined ? {} : { idToken: { ...subject.idToken } }),
      grant: 'token_exchange',
      audience: [...claims.aud],
    });
  }

  /**
   * A Txn-Token (draft-ietf-oauth-transaction-tokens-10, this issuer as the trust domain's TTS):
   * the requesting workload authenticates (`clientAssertion`) and must hold the subject
   * credential (one of this issuer's access tokens); `audience` must be the trust domain, the
   * `scope` within the subject's (never unknown: refused when it is not held); `sub` is the
   * subject's initiator, `req_wl` the requester, `tctx` / `rctx` the `request_details` /
   * `request_context` objects as sent. Signed `typ: txntoken+jwt`; refused `unsupported_grant_type`
   * when this issuer is no TTS.
   */
  async txnToken(req: TxnTokenRequest): Promise<IssuedCredential> {
    return this.wire(async () => {
      const tts = this.o.txnTokens;
      if (tts === undefined) {
        throw new OAuthError('unsupported_grant_type', 'This issuer is no Txn-Token Service.', {
          code: 'txn_tokens_disabled',
        });
      }
      if (req.audience !== tts.trustDomain) {
        throw new OAuthError(
          'invalid_target',
          `A Txn-Token's audience must be the trust domain ${tts.trustDomain}.`,
          { code: 'wrong_trust_domain' },
        );
      }
      if (req.scope === undefined || req.scope.length === 0) {
        throw new OAuthError('invalid_request', 'A Txn-Token Request needs its scope.', {
          code: 'scope_required',
        });
      }
      if (req.subjectTokenType !== TOKEN_TYPE_ACCESS_TOKEN) {
        throw new OAuthError(
          'invalid_request',
          `The subject_token of a Txn-Token Request is one of this issuer's access tokens (${TOKEN_TYPE_ACCESS_TOKEN}).`,
          { code: 'unsupported_token_type' },
        );
      }
      const tctx = jsonObjectParam(req.requestDetails, 'request_details');
      const rctx = jsonObjectParam(req.requestContext, 'request_context');
      const now = this.clock();
      const subject = await this.o.verifier.verify(req.subjectToken, { audience: null });
      if (
        subject.claims.iss !== this.o.issuer ||
        ![this.o.audience, ...(this.o.resources ?? [])].some((a) =>
          namesAudience(subject.claims.aud, a),
        )
      ) {
        throw new CredentialError('wrong_audience', 'The subject credential is not for us.', {
          claim: 'aud',
        });
      }
      const { principal: requester, svid } = await this.authenticate(req.clientAssertion, now);
      const holder = subject.actors[0] ?? subject.subject;
      if (requester.id !== holder) {
        throw new OAuthError(
          'invalid_grant',
          'Only the holder of the subject credential may ask for its Txn-Token.',
          { code: 'not_subject_holder' },
        );
      }
      const asked = normalizeScopes(req.scope);
      if (asked === undefined) {
        throw new DelegationError('invalid_scope', 'The scope is not a list of scope tokens.');
      }
      const notHeld = asked.filter((x) => !subject.scope.includes(x));
      if (notHeld.length > 0) {
        throw new DelegationError('invalid_scope', "The scope is wider than the subject's.", {
          notHeld,
        });
      }
      const iat = Math.floor(now / 1000);
      const exp = Math.min(subject.exp, iat + (tts.lifetimeSec ?? 300));
      if (exp <= iat) {
        throw new DelegationError('subject_expired', 'The subject credential has expired.');
      }
      const claims = txnTokenClaims({
        iss: this.o.issuer,
        trustDomain: tts.trustDomain,
        txn: uuidv7(now),
        sub: subject.subject,
        scope: asked,
        reqWl: requester.id,
        iat,
        exp,
        ...(tctx === undefined ? {} : { tctx }),
        ...(rctx === undefined ? {} : { rctx }),
      });
      const key = this.signingKey();
      const token = await new SignJWT({ ...claims })
        .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: TXN_TOKEN_TYP })
        .sign(key.privateKey);
      const witness: WitnessEvent = {
        type: 'credential.issued',
        jti: claims.txn,
        parentJti: subject.jti,
        sub: subject.subject,
        actor: requester.id,
        scope: asked,
        roles: [],
        iat,
        exp,
        ancestors: [...subject.ancestors, subject.jti],
        grant: 'txn_token',
        ...(svid === undefined ? {} : { authn: svidEvidence(svid) }),
        txnToken: {
          txn: claims.txn,
          tokenDigest: `sha256:${sha256Hex(Buffer.from(token, 'utf8'))}`,
          ...(tctx === undefined ? {} : { tctxDigest: digestOf(tctx) }),
          reqWl: requester.id,
          trustDomain: tts.trustDomain,
        },
      };
      const credentialClaims: CredentialClaims = {
        iss: this.o.issuer,
        sub: subject.subject,
        aud: tts.trustDomain,
        iat,
        exp,
        jti: claims.txn,
        scope: claims.scope,
      };
      return { token, claims: credentialClaims, expiresIn: exp - iat, witness };
    });
  }

  /**
   * Development sign-in: a credential for the registered, enabled human `user:<userId>`, with no
   * proof at all. Refused (`unsupported_grant_type`) unless the issuer was built with `devLogin`.
   */
  async devLogin(
    userId: string,
    scope: string[] | undefined,
    requestedLifetimeSec?: number,
    resource?: string,
  ): Promise<IssuedCredential> {
    return this.wire(async () => {
      const aud = this.audienceFor(resource);
      if (this.o.devLogin !== true) {
        throw new OAuthError(
          'unsupported_grant_type',
          'Development sign-in is disabled on this issuer.',
          {
            code: 'dev_login_disabled',
          },
        );
      }
      const id = `user:${userId}`;
      if (principalIdProblem(id) !== undefined) {
        throw new OAuthError('invalid_request', 'The user id is not valid.', {
          code: 'invalid_principal',
        });
      }
      const user = this.o.directory.get(id);
      if (user === undefined || user.kind !== 'human') {
        throw new OAuthError('invalid_grant', `No registered human ${id}.`, {
          code: 'principal_unknown',
        });
      }
      if (user.disabled) {
        throw new OAuthError('invalid_grant', `${id} is disabled.`, { code: 'principal_disabled' });
      }
      return this.issueRoot({
        aud,
        sub: id,
        lifetimeSec: this.rootLifetime(requestedLifetimeSec),
        scope: this.rootScope(user, scope),
        roles: grantedRoles(user),
        grant: 'dev_login',
        now: this.clock(),
      });
    });
  }

  /**
   * A human's own credential after an identity-provider sign-in that the caller verified (the
   * console's and CLI's OpenID Connect flow). `sub` is `request.subject`; the credential carries
   * the roles the configuration mapped (`request.roles`) plus those granted to the subject in the
   * registry, and scopes within the subject's ceiling. A registered subject must be an enabled
   * human; an unregistered `<iss>#<sub>` is allowed. Refusals are `OAuthError`s.
   */
  async signIn(request: SignInRequest): Promise<IssuedCredential> {
    // The mapping is the deployment's configuration: a role it names that does not exist is a bug.
    const mapped = request.roles ?? [];
    const unknownRole = mapped.find((r) => !isRole(r));
    if (unknownRole !== undefined) {
      throw new TypeError(`signIn: ${JSON.stringify(unknownRole)} is not a role.`);
    }
    return this.wire(async () => {
      const id = request.subject;
      if (principalIdProblem(id) !== undefined) {
        throw new OAuthError('invalid_request', 'The subject is not a principal id.', {
          code: 'invalid_principal',
        });
      }
      const known = this.o.directory.get(id);
      if (known !== undefined && known.kind !== 'human') {
        throw new OAuthError('invalid_grant', `${id} is not a human.`, {
          code: 'principal_unknown',
        });
      }
      if (known?.disabled === true) {
        throw new OAuthError('invalid_grant', `${id} is disabled.`, { code: 'principal_disabled' });
      }
      const held = known === undefined ? [] : grantedRoles(known);
      return this.issueRoot({
        aud: this.audienceFor(request.resource),
        sub: id,
        lifetimeSec: this.rootLifetime(request.requestedLifetimeSec),
        scope: this.rootScope(known, request.scope),
        roles: ROLES.filter((r) => held.includes(r) || mapped.includes(r)),
        grant: 'sign_in',
        now: this.clock(),
      });
    });
  }

  /**
   * Revokes a credential: from now on it, and every credential exchanged from it, is refused
   * (the verifier checks `jti` and `ancestors` on every call). Pass the verified credential to
   * have the witness name its subject, scopes and window; with a bare `jti` those are unknown
   * (`sub` is '').
   */
  async revoke(target: string | VerifiedCredential): Promise<WitnessEvent> {
    const jti = typeof target === 'string' ? target : target.jti;
    if (typeof jti !== 'string' || jti === '' || jti.length > 1024) {
      throw new OAuthError('invalid_request', 'Name the credential to revoke by its jti.', {
        code: 'invalid_jti',
      });
    }
    const now = this.clock();
    await this.o.revocations.revoke(jti, now);
    const nowSec = Math.floor(now / 1000);
    if (typeof target === 'string') {
      return {
        type: 'credential.revoked',
        jti,
        sub: '',
        scope: [],
        roles: [],
        iat: nowSec,
        exp: nowSec,
        ancestors: [],
        grant: 'token_exchange',
      };
    }
    return {
      type: 'credential.revoked',
      jti,
      ...(target.ancestors.length > 0
        ? { parentJti: target.ancestors[target.ancestors.length - 1]! }
        : {}),
      sub: target.subject,
      ...(target.actors[0] === undefined ? {} : { actor: target.actors[0] }),
      scope: [...target.scope],
      roles: [...target.roles],
      iat: target.iat,
      exp: target.exp,
      ancestors: [...target.ancestors],
      grant: grantOf(target, this.o.directory),
    };
  }

  /** The public keys to serve at `jwks_uri`. */
  jwks(): { keys: ReturnType<IssuerKeyRing['jwks']>['keys'] } {
    return this.o.keys.jwks(this.clock(), this.o.policy.maxLifetimeSec);
  }

  /** RFC 8414 authorization server metadata. */
  metadata(): Record<string, unknown> {
    const origin = new URL(this.o.issuer).origin;
    return {
      issuer: this.o.issuer,
      token_endpoint: this.o.tokenEndpoint,
      jwks_uri: this.o.jwksUri ?? `${origin}/.well-known/jwks.json`,
      revocation_endpoint: this.o.revocationEndpoint ?? `${origin}/v1/token/revoke`,
      response_types_supported: [],
      grant_types_supported: [
        'client_credentials',
        GRANT_TYPE_TOKEN_EXCHANGE,
        ...(this.grants.size > 0 ? [GRANT_TYPE_JWT_BEARER] : []),
      ],
      token_endpoint_auth_methods_supported: ['private_key_jwt'],
      token_endpoint_auth_signing_alg_values_supported: ['EdDSA', 'ES256'],
      revocation_endpoint_auth_methods_supported: ['none'],
      subject_token_types_supported: SUBJECT_TOKEN_TYPES,
      // draft-ietf-oauth-identity-chaining-17 §3.
      ...((this.o.chainAudiences ?? []).length > 0
        ? { identity_chaining_requested_token_types_supported: [TOKEN_TYPE_JWT] }
        : {}),
      ...(this.o.txnTokens === undefined
        ? {}
        : { requested_token_types_supported: [TOKEN_TYPE_ACCESS_TOKEN, TOKEN_TYPE_TXN_TOKEN] }),
    };
  }

  private async wire<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (e) {
      const mapped = toOAuthError(e);
      if (mapped === undefined) throw e;
      throw mapped;
    }
  }

  /** Signs a root credential (one exchanged from none) and describes its `credential.issued`. */
  private issueRoot(r: {
    aud: string;
    sub: string;
    lifetimeSec: number;
    scope: string[];
    roles: Role[];
    grant: Grant;
    now: number;
    authn?: SvidEvidence;
  }): Promise<IssuedCredential> {
    const iat = Math.floor(r.now / 1000);
    const claims = this.claims(r.sub, iat, iat + r.lifetimeSec, r.scope, r.roles, r.now);
    claims.aud = r.aud;
    return this.issue(claims, iat, {
      type: 'credential.issued',
      jti: claims.jti,
      sub: r.sub,
      scope: r.scope,
      roles: r.roles,
      iat,
      exp: claims.exp,
      ancestors: [],
      grant: r.grant,
      ...(r.authn === undefined ? {} : { authn: r.authn }),
    });
  }

  /** The scopes of a root credential of `principal`, within its ceiling (see `rootScope`). */
  private rootScope(principal: Principal | undefined, requested: readonly string[] | undefined) {
    return rootScope(principal?.scopes ?? this.o.defaultScopeCeiling, requested);
  }

  /** The lifetime of a root credential of a sign-in: as asked within the policy, or its default. */
  private rootLifetime(requested: number | undefined): number {
    const lifetime = requested ?? this.o.policy.defaultLifetimeSec;
    if (
      !Number.isSafeInteger(lifetime) ||
      lifetime < 1 ||
      lifetime > this.o.policy.maxLifetimeSec
    ) {
      throw new DelegationError(
        'invalid_lifetime',
        `The lifetime must be 1..${this.o.policy.maxLifetimeSec} seconds.`,
      );
    }
    return lifetime;
  }

  /**
   * The `aud` of a root credential: the resource it was asked for (RFC 8707 §2), which must be
   * one this issuer serves, or without one the issuer's own audience.
   */
  private audienceFor(resource: string | undefined): string {
    if (resource === undefined) return this.o.audience;
    if (!(this.o.resources ?? []).includes(resource)) {
      throw new OAuthError(
        'invalid_target',
        `This authorization server issues no credential for the resource ${JSON.stringify(resource.slice(0, 200))}.`,
        { code: 'resource_unknown' },
      );
    }
    return resource;
  }

  /**
   * Authenticates a workload by its RFC 7523 assertion: a JWT-SVID when `svids` claims it (a
   * SPIFFE id of a configured trust domain whose bundle holds its key), else `private_key_jwt`.
   */
  private async authenticate(assertion: string, now: number): Promise<Authenticated> {
    if (this.o.svids?.claims(assertion) === true) return this.authenticateSvid(assertion);
    const principal = await verifyClientAssertion(assertion, {
      tokenEndpoint: this.o.tokenEndpoint,
      issuer: this.o.issuer,
      directory: this.o.directory,
      replay: this.o.replay,
      clock: () => now,
      skewSec: this.skewSec,
    });
    return { principal };
  }

  /**
   * A JWT-SVID as client authentication: verified against its trust bundle with `aud` this
   * authorization server (issuer or token endpoint), single-use when it carries a `jti`; its
   * SPIFFE id must be a registered workload or match a path pattern (through `directory`).
   * Every refusal is `invalid_client` (401) with the precise code, or 503 when the bundle is
   * out of reach.
   */
  private async authenticateSvid(assertion: string): Promise<Authenticated> {
    let svid: VerifiedSvid;
    try {
      svid = await this.o.svids!.verify(assertion, {
        audience: [this.o.issuer, this.o.tokenEndpoint],
        singleUse: true,
      });
    } catch (e) {
      if (!(e instanceof CredentialError)) throw e;
      throw new OAuthError(
        e.code === 'keys_unavailable' ? 'temporarily_unavailable' : 'invalid_client',
        `The JWT-SVID is refused: ${e.message}`,
        { code: e.code, ...(e.claim === undefined ? {} : { claim: e.claim }) },
      );
    }
    const principal = this.o.directory.get(svid.spiffeId);
    if (principal === undefined) {
      throw new OAuthError(
        'invalid_client',
        `${svid.spiffeId} is neither registered nor allowed by a path pattern of ${svid.trustDomain}.`,
        { code: 'spiffe_id_not_allowed' },
      );
    }
    if (!WORKLOAD_KINDS.includes(principal.kind)) {
      throw new OAuthError(
        'invalid_client',
        `A ${principal.kind} does not authenticate with a JWT-SVID.`,
        { code: 'not_a_workload' },
      );
    }
    if (principal.disabled) {
      throw new OAuthError('unauthorized_client', `${svid.spiffeId} is disabled.`, {
        code: 'principal_disabled',
      });
    }
    return { principal, svid };
  }

  private claims(
    sub: string,
    iat: number,
    exp: number,
    scope: string[],
    roles: Role[],
    now: number,
  ): CredentialClaims {
    return {
      iss: this.o.issuer,
      sub,
      aud: this.o.audience,
      iat,
      exp,
      jti: uuidv7(now),
      scope: scope.join(' '),
      roles: [...roles],
    };
  }

  private async issue(
    claims: CredentialClaims,
    iat: number,
    witness: WitnessEvent,
  ): Promise<IssuedCredential> {
    const key = this.signingKey();
    const token = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: CREDENTIAL_TYP })
      .sign(key.privateKey);
    return { token, claims, expiresIn: claims.exp - iat, witness };
  }

  /** The key to sign with now, unless it was retired at once elsewhere (`key_retired`). */
  private signingKey(): ReturnType<IssuerKeyRing['current']> {
    const key = this.o.keys.current();
    if (this.o.keyRetiredElsewhere?.(key.kid) === true) {
      throw new OAuthError(
        'temporarily_unavailable',
        "This issuer's signing key was retired; it needs the new issuer key ring.",
        { code: 'key_retired' },
      );
    }
    return key;
  }

  /** Verifies an ID token from a trusted OIDC provider and presents it as a chain's root. */
  private async verifyIdToken(
    token: string,
    requestedScope: string[] | undefined,
    now: number,
  ): Promise<VerifiedCredential> {
    const decoded = decodeCompact(token, MAX_ID_TOKEN_BYTES);
    if ('failure' in decoded) {
      throw new CredentialError(
        decoded.failure === 'too_large' ? 'token_too_large' : 'malformed_token',
        decoded.message,
      );
    }
    const alg = decoded.header['alg'];
    if (typeof alg !== 'string' || !ID_TOKEN_ALGS.includes(alg)) {
      throw new CredentialError('unsupported_alg', "The ID token's algorithm is not accepted.", {
        claim: 'alg',
      });
    }
    const iss = decoded.payload['iss'];
    const trusted = typeof iss === 'string' ? this.idTokenIssuers.get(iss) : undefined;
    if (trusted === undefined || typeof iss !== 'string') {
      throw new CredentialError(
        'wrong_issuer',
        'The ID token is not from a trusted sign-in provider.',
        { claim: 'iss' },
      );
    }
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, keyLookup(trusted.jwks), {
        algorithms: trusted.algorithms,
        issuer: iss,
        audience: trusted.audience ?? this.o.audience,
        clockTolerance: this.skewSec,
        currentDate: new Date(now),
        requiredClaims: ['sub', 'iat', 'exp'],
        ...(trusted.typ === undefined ? {} : { typ: trusted.typ }),
      }));
    } catch (e) {
      throw fromJoseError(e);
    }
    const sub = payload['sub'];
    const iat = payload['iat'];
    const exp = payload['exp'];
    if (typeof sub !== 'string' || !Number.isSafeInteger(iat) || !Number.isSafeInteger(exp)) {
      throw new CredentialError(
        'malformed_token',
        'The ID token needs a string "sub" and whole-second "iat" and "exp".',
      );
    }
    // Spent as soon as it verifies, whatever happens next: a stolen copy cannot be tried again.
    const fresh = await this.idTokenReplay.useOnce(
      idTokenReplayKey(payload),
      (exp as number) + this.skewSec,
    );
    if (!fresh) {
      throw new CredentialError('token_replayed', 'This ID token was already exchanged.', {
        claim: typeof payload['jti'] === 'string' ? 'jti' : 'iat',
      });
    }
    const oidcId = `${iss}#${sub}`;
    const local = `user:${sub}`;
    const mapped =
      this.o.directory.get(oidcId) === undefined && this.o.directory.get(local)?.kind === 'human'
        ? local
        : oidcId;
    if (principalIdProblem(mapped) !== undefined) {
      throw new CredentialError(
        'malformed_token',
        "The ID token's subject cannot name a principal.",
        { claim: 'sub' },
      );
    }
    const tokenDigest = sha256Hex(Buffer.from(token, 'utf8'));
    const given = payload['jti'];
    if (typeof given === 'string' && (given === '' || given.length > MAX_ID_TOKEN_JTI)) {
      // It names the chain's root in every credential exchanged from this one.
      throw new CredentialError(
        'malformed_token',
        `The ID token's "jti" must be 1..${MAX_ID_TOKEN_JTI} characters.`,
        { claim: 'jti' },
      );
    }
    const jti = typeof given === 'string' ? given : `id_token:${tokenDigest}`;
    const scope = this.rootScope(this.o.directory.get(mapped), requestedScope);
    const claims: CredentialClaims = {
      iss,
      sub: mapped,
      aud: this.o.audience,
      iat: iat as number,
      exp: exp as number,
      jti,
      scope: scope.join(' '),
    };
    return {
      tokenDigest,
      claims,
      subject: mapped,
      actors: [],
      chain: [mapped],
      scope,
      jti,
      iat: iat as number,
      exp: exp as number,
      ancestors: [],
      roles: [],
    };
  }
}

/** The longest ID token `jti` accepted: what a credential's `id_token` claim can name. */
const MAX_ID_TOKEN_JTI = 1024;

/** A chained grant's lifetime when none is asked for, and at most (the grant is a bearer token). */
export const GRANT_DEFAULT_LIFETIME_SEC = 60;
export const GRANT_MAX_LIFETIME_SEC = 300;

/**
 * The principal a grant's subject is here. An ID-JAG names the human as the IdP's ID tokens do
 * (the draft requires the same identifier), so it maps as an ID-token sign-in does: `user:<sub>`
 * when such a human is registered (and no `<iss>#<sub>` is), else `<iss>#<sub>`. A chained
 * grant's subject is domain A's identifier, which means nothing in this registry: it is always
 * namespaced, `<iss>#<sub>`, so domain A's `user:alice` never becomes this domain's.
 *
 * The only transcription a grant may carry is the ID-JAG `aud_sub` (this server's identifier for
 * the user, by the IdP's word); Provenant does not let the issuer of a grant choose another
 * principal, so an `aud_sub` naming anyone but the resolved subject is `subject_transcribed`.
 */
export function grantSubject(grant: VerifiedJwtGrant, directory: PrincipalDirectory): string {
  const namespaced = `${grant.iss}#${grant.sub}`;
  const local = `user:${grant.sub}`;
  const subject =
    grant.profile === 'id_jag' &&
    directory.get(namespaced) === undefined &&
    directory.get(local)?.kind === 'human'
      ? local
      : namespaced;
  if (principalIdProblem(subject) !== undefined) {
    throw new CredentialError('malformed_token', "The grant's subject cannot name a principal.", {
      claim: 'sub',
    });
  }
  if (
    grant.audSub !== undefined &&
    ![grant.sub, subject].includes(grant.audSub) &&
    subject !== `user:${grant.audSub}`
  ) {
    throw new CredentialError(
      'subject_transcribed',
      'The grant would transcribe its subject into another principal (aud_sub).',
      { claim: 'aud_sub' },
    );
  }
  const known = directory.get(subject);
  if (known !== undefined && known.kind !== 'human') {
    throw new CredentialError('principal_unknown', `${subject} is not a human.`, { claim: 'sub' });
  }
  return subject;
}

/**
 * The scopes of a root credential (one not exchanged from another): as requested, within the
 * `ceiling` (refused with `invalid_scope` beyond it, never silently narrowed); with none
 * requested, the ceiling itself. No ceiling (undefined): as requested, or nothing.
 */
export function rootScope(
  ceiling: readonly string[] | undefined,
  requested: readonly string[] | undefined,
): string[] {
  const asked = requested === undefined ? undefined : normalizeScopes(requested);
  if (requested !== undefined && asked === undefined) {
    throw new DelegationError(
      'invalid_scope',
      'The requested scope is not a list of OAuth scope tokens.',
    );
  }
  const allowed = ceiling;
  if (allowed === undefined) return asked ?? [];
  if (asked === undefined) return [...allowed];
  const notHeld = asked.filter((s) => !allowed.includes(s));
  if (notHeld.length > 0) {
    throw new DelegationError(
      'invalid_scope',
      'The requested scope is wider than the scope ceiling of this principal.',
      { notHeld },
    );
  }
  return asked;
}

/**
 * What identifies one ID token for single use: its issuer and `jti`, or without a `jti` its
 * issuer, `sub`, `iat` and `nonce` (two sign-ins never share all four). A SHA-256, hex.
 */
export function idTokenReplayKey(payload: Record<string, unknown>): string {
  const jti = payload['jti'];
  const parts =
    typeof jti === 'string'
      ? ['jti', payload['iss'], jti]
      : ['sub', payload['iss'], payload['sub'], payload['iat'], payload['nonce'] ?? null];
  return sha256Hex(Buffer.from(JSON.stringify(parts), 'utf8'));
}

function svidEvidence(svid: VerifiedSvid): SvidEvidence {
  return {
    method: 'jwt_svid',
    spiffeId: svid.spiffeId,
    trustDomain: svid.trustDomain,
    kid: svid.kid,
  };
}

const MAX_CONTEXT_BYTES = 4096;

/** A `request_details` / `request_context` parameter: absent, or a JSON object of ≤ 4 KiB. */
function jsonObjectParam(
  value: string | undefined,
  name: string,
): Record<string, unknown> | undefined {
  if (value === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = value.length > MAX_CONTEXT_BYTES ? undefined : JSON.parse(value);
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new OAuthError(
      'invalid_request',
      `"${name}" must be a JSON object of at most ${MAX_CONTEXT_BYTES} bytes.`,
      { code: 'invalid_context' },
    );
  }
  try {
    digestOf(parsed);
  } catch {
    throw new OAuthError('invalid_request', `"${name}" cannot be canonicalized (RFC 8785).`, {
      code: 'invalid_context',
    });
  }
  return parsed as Record<string, unknown>;
}

/** How a credential of this issuer was granted, read back from its shape. */
function grantOf(v: VerifiedCredential, directory: PrincipalDirectory): Grant {
  if (v.actors.length > 0) return v.ancestors.length === 0 ? 'id_token' : 'token_exchange';
  const kind = directory.get(v.subject)?.kind;
  return kind === 'human' || v.subject.startsWith('user:') ? 'dev_login' : 'client_credentials';
}
