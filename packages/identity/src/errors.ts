/**
 * Every failure this package reports: one class per concern, each a `ProvenantError` with a
 * stable string `code` to switch on and structured fields (`claim`, `reason`) beside a message
 * meant for people. Mistakes by the calling program (bad options) throw `TypeError` instead.
 */
import { ProvenantError } from '@provenant/core';

/** Why a credential (a bearer JWT) was refused by `CredentialVerifier`. */
export type CredentialErrorCode =
  | 'token_too_large'
  | 'malformed_token'
  | 'unsupported_alg'
  | 'unknown_kid'
  | 'bad_signature'
  | 'expired'
  | 'not_yet_valid'
  | 'wrong_audience'
  | 'wrong_issuer'
  | 'revoked'
  | 'act_too_deep'
  | 'missing_claim'
  | 'principal_unknown'
  | 'principal_disabled'
  /** Signed with an issuer key retired before the token's `iat`: minted after the rotation. */
  | 'key_retired'
  /** An ID token presented a second time (each is exchanged at most once). */
  | 'token_replayed'
  /** The issuer's keys could not be fetched (remote JWKS down or invalid): not the token's fault. */
  | 'keys_unavailable'
  /** The `typ` header is not the one this kind of token must carry (`txntoken+jwt`, `at+jwt`…). */
  | 'wrong_typ'
  /** A Txn-Token presented as a bearer credential: it belongs in the `Txn-Token` header. */
  | 'txn_token_misplaced'
  /** A JWT-SVID whose `sub` is not a SPIFFE id (SPIFFE-ID §2). */
  | 'invalid_spiffe_id'
  /** A JWT-SVID of a trust domain no bundle is configured for. */
  | 'unknown_trust_domain'
  /** A SPIFFE id neither registered nor matching a configured path pattern of its trust domain. */
  | 'spiffe_id_not_allowed'
  /** A token whose `exp` is further ahead than this kind of token may live. */
  | 'lifetime_too_long'
  /** A JWT authorization grant (ID-JAG or another domain's) presented a second time. */
  | 'grant_replayed'
  /** A grant's `client_id` is not the client that authenticated the request. */
  | 'client_mismatch'
  /** A grant whose claims would transcribe its subject into another principal (`aud_sub`). */
  | 'subject_transcribed';

export class CredentialError extends ProvenantError {
  declare readonly code: CredentialErrorCode;
  /** The JWT claim (or header parameter) at fault, when one is. */
  readonly claim?: string;

  constructor(code: CredentialErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
    const claim = details?.['claim'];
    if (typeof claim === 'string') this.claim = claim;
  }
}

/** Why a principal definition was refused by `parsePrincipal` (or an id by `agentInstanceId`). */
export type PrincipalErrorCode = 'invalid_principal';

export class PrincipalError extends ProvenantError {
  declare readonly code: PrincipalErrorCode;
  /** The field at fault, e.g. `id` or `publicJwks[0]`. */
  readonly field: string;

  constructor(field: string, message: string) {
    super('invalid_principal', message, { field });
    this.field = field;
  }
}

/** Why an RFC 7523 client assertion did not authenticate its client. */
export type ClientAuthErrorCode =
  'invalid_client' | 'assertion_replayed' | 'assertion_expired' | 'principal_disabled';

/** The precise rule behind an `invalid_client`, for logs and tests (never needed to switch on). */
export type ClientAuthReason =
  | 'token_too_large'
  | 'malformed'
  | 'unsupported_alg'
  | 'missing_claim'
  | 'iss_sub_mismatch'
  | 'unknown_client'
  | 'not_a_workload'
  | 'no_registered_keys'
  | 'unregistered_key'
  | 'bad_signature'
  | 'wrong_audience'
  | 'not_yet_valid'
  | 'lifetime_too_long'
  | 'replayed'
  | 'expired'
  | 'disabled';

export class ClientAuthError extends ProvenantError {
  declare readonly code: ClientAuthErrorCode;
  readonly reason: ClientAuthReason;

  constructor(
    code: ClientAuthErrorCode,
    reason: ClientAuthReason,
    message: string,
    details?: Record<string, unknown>,
  ) {
    super(code, message, { ...details, reason });
    this.reason = reason;
  }
}

/** Why a token exchange (RFC 8693) was refused by `planExchange`. */
export type DelegationErrorCode =
  | 'invalid_scope'
  | 'chain_too_deep'
  | 'delegation_cycle'
  | 'may_act_refused'
  | 'principal_disabled'
  | 'principal_unknown'
  | 'subject_expired'
  | 'invalid_lifetime';

export class DelegationError extends ProvenantError {
  declare readonly code: DelegationErrorCode;

  constructor(code: DelegationErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** RFC 6749 §5.2 error codes the token endpoint answers with (plus 503's). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'invalid_target'
  | 'temporarily_unavailable';

/** The HTTP status of each RFC 6749 error the token endpoint answers. */
const OAUTH_STATUS = {
  invalid_request: 400,
  invalid_client: 401,
  invalid_grant: 400,
  unauthorized_client: 400,
  unsupported_grant_type: 400,
  invalid_scope: 400,
  invalid_target: 400,
  temporarily_unavailable: 503,
} as const satisfies Record<OAuthErrorCode, 400 | 401 | 503>;

/**
 * An error for the token endpoint's wire: `code` is the RFC 6749 `error`, `status` the HTTP
 * status, and `details.code` the precise Provenant code underneath (e.g. `delegation_cycle`).
 */
export class OAuthError extends ProvenantError {
  declare readonly code: OAuthErrorCode;
  readonly status: 400 | 401 | 503;

  constructor(
    code: OAuthErrorCode,
    message: string,
    details?: Record<string, unknown>,
    options?: { cause?: unknown },
  ) {
    super(code, message, details);
    this.status = OAUTH_STATUS[code];
    if (options?.cause !== undefined) this.cause = options.cause;
  }

  /** The RFC 6749 §5.2 response body. */
  toJSON(): { error: OAuthErrorCode; error_description: string; provenant_code?: string } {
    const underlying = this.details?.['code'];
    return {
      error: this.code,
      error_description: this.message,
      ...(typeof underlying === 'string' ? { provenant_code: underlying } : {}),
    };
  }
}

// A disabled client did prove its key: it is known but not allowed (400), not unauthenticated.
const CLIENT_AUTH_TO_OAUTH: Record<ClientAuthErrorCode, OAuthErrorCode> = {
  invalid_client: 'invalid_client',
  assertion_replayed: 'invalid_client',
  assertion_expired: 'invalid_client',
  principal_disabled: 'unauthorized_client',
};

const CREDENTIAL_TO_OAUTH: Record<CredentialErrorCode, OAuthErrorCode> = {
  token_too_large: 'invalid_request',
  malformed_token: 'invalid_request',
  unsupported_alg: 'invalid_grant',
  unknown_kid: 'invalid_grant',
  bad_signature: 'invalid_grant',
  expired: 'invalid_grant',
  not_yet_valid: 'invalid_grant',
  wrong_audience: 'invalid_grant',
  wrong_issuer: 'invalid_grant',
  revoked: 'invalid_grant',
  act_too_deep: 'invalid_grant',
  missing_claim: 'invalid_grant',
  principal_unknown: 'invalid_grant',
  principal_disabled: 'invalid_grant',
  key_retired: 'invalid_grant',
  token_replayed: 'invalid_grant',
  keys_unavailable: 'temporarily_unavailable',
  wrong_typ: 'invalid_grant',
  txn_token_misplaced: 'invalid_grant',
  invalid_spiffe_id: 'invalid_grant',
  unknown_trust_domain: 'invalid_grant',
  spiffe_id_not_allowed: 'invalid_grant',
  lifetime_too_long: 'invalid_grant',
  grant_replayed: 'invalid_grant',
  client_mismatch: 'invalid_grant',
  subject_transcribed: 'invalid_grant',
};

const DELEGATION_TO_OAUTH: Record<DelegationErrorCode, OAuthErrorCode> = {
  invalid_scope: 'invalid_scope',
  chain_too_deep: 'invalid_grant',
  delegation_cycle: 'invalid_grant',
  may_act_refused: 'invalid_grant',
  principal_disabled: 'invalid_grant',
  principal_unknown: 'invalid_grant',
  subject_expired: 'invalid_grant',
  invalid_lifetime: 'invalid_request',
};

/**
 * Maps what the issuer's building blocks throw onto the token endpoint's RFC 6749 errors,
 * keeping the precise code in `details.code`. Client-assertion failures are `invalid_client`
 * (401), except a disabled client (`unauthorized_client`, 400); a bad subject token is
 * `invalid_grant`; widening is `invalid_scope`. Anything that is
 * not one of this package's errors is returned as `undefined`: it is a bug, not a refusal.
 */
export function toOAuthError(error: unknown): OAuthError | undefined {
  if (error instanceof OAuthError) return error;
  let code: OAuthErrorCode | undefined;
  if (error instanceof ClientAuthError) code = CLIENT_AUTH_TO_OAUTH[error.code];
  else if (error instanceof CredentialError) code = CREDENTIAL_TO_OAUTH[error.code];
  else if (error instanceof DelegationError) code = DELEGATION_TO_OAUTH[error.code];
  else if (error instanceof ProvenantError && error.code === 'replay_cache_full') {
    code = 'temporarily_unavailable';
  }
  if (code === undefined || !(error instanceof ProvenantError)) return undefined;
  return new OAuthError(
    code,
    error.message,
    { ...error.details, code: error.code },
    { cause: error },
  );
}
