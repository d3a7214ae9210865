export type { Clock } from './clock.js';
export { systemClock } from './clock.js';
export {
  ClientAuthError,
  CredentialError,
  DelegationError,
  OAuthError,
  PrincipalError,
  type ClientAuthErrorCode,
  type ClientAuthReason,
  type CredentialErrorCode,
  type DelegationErrorCode,
  type OAuthErrorCode,
  type PrincipalErrorCode,
} from './errors.js';
export {
  MemoryPrincipalDirectory,
  agentInstanceId,
  isPrincipalId,
  defaultRoles,
  grantedRoles,
  parsePrincipal,
  parseRole,
  parseScopeCeiling,
  type Principal,
  type PrincipalDirectory,
  type PrincipalKind,
} from './principals.js';
export {
  isJwksUrl,
  jwksSource,
  type JwksSource,
  type JwksSourceOptions,
  type JwksSourceStatus,
} from './jwks-source.js';
export {
  JWT_SVID_ALGS,
  SpiffeDirectory,
  SvidVerifier,
  checkPathPattern,
  matchesPathPattern,
  parseSpiffeId,
  type SpiffeTrustDomain,
  type SvidVerifierOptions,
  type VerifiedSvid,
} from './spiffe.js';
export {
  TOKEN_TYPE_TXN_TOKEN,
  TXN_TOKEN_ALGS,
  TXN_TOKEN_HEADER,
  TXN_TOKEN_TYP,
  TxnTokenVerifier,
  txnTokenClaims,
  type TrustedTxnTokenService,
  type TxnTokenClaims,
  type TxnTokenVerifierOptions,
  type VerifiedTxnToken,
} from './txn-token.js';
export { nestAct, type ActClaim, type CredentialClaims, type IdTokenRef } from './claims.js';
export { IssuerKeyRing, type SigningAlg, type SigningKey } from './keys.js';
export {
  MemoryReplayCache,
  MemoryRevocationStore,
  type ReplayCache,
  type RevocationCheck,
  type RevocationStore,
} from './revocation.js';
export {
  CredentialVerifier,
  type CredentialVerifierOptions,
  type TrustedAlg,
  type TrustedIssuer,
  type VerifiedCredential,
  type VerifyOptions,
  namesAudience,
} from './verify.js';
export { verifyClientAssertion, type ClientAssertionOptions } from './assertion.js';
export {
  DEFAULT_EXCHANGE_POLICY,
  MAX_CREDENTIAL_LIFETIME_SEC,
  checkExchangePolicy,
  planExchange,
  type ExchangeInput,
  type ExchangePlan,
  type ExchangePolicy,
} from './delegation.js';
export {
  CHAIN_GRANT_TYP,
  GRANT_TYPE_JWT_BEARER,
  ID_JAG_TYP,
  JwtGrantVerifier,
  TOKEN_TYPE_ID_JAG,
  grantReplayKey,
  type JwtGrantProfile,
  type JwtGrantTrust,
  type VerifiedJwtGrant,
} from './jwt-grant.js';
export {
  GRANT_DEFAULT_LIFETIME_SEC,
  GRANT_MAX_LIFETIME_SEC,
  GRANT_TYPE_TOKEN_EXCHANGE,
  Issuer,
  TOKEN_TYPE_ACCESS_TOKEN,
  TOKEN_TYPE_ID_TOKEN,
  TOKEN_TYPE_JWT,
  grantSubject,
  keyRingIssuer,
  type ChainGrantRequest,
  type ExchangeRequest,
  type Grant,
  type IssuedGrant,
  type JwtBearerRequest,
  type JwtGrantWitness,
  type IssuedCredential,
  type IssuerOptions,
  type SignInRequest,
  type SvidEvidence,
  type TxnTokenEvidence,
  type TxnTokenRequest,
  type SubjectTokenType,
  type WitnessEvent,
} from './issuer.js';
export {
  DEFAULT_MINIMUM_LEVELS,
  attribute,
  levelAtLeast,
  requiredLevelFor,
  type AttributionLevel,
  type AttributionResult,
  type MinimumLevelPolicy,
} from './attribution.js';
