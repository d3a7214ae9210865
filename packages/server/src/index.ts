// @provenant/server: run the collector (or embed its HTTP app) and the witness. What works on
// records and a data folder without the collector running is @provenant/server/offline.
export { startCollector } from './collector.js';
export type { CollectorConfig, RunningCollector } from './collector.js';
export { buildApp } from './app.js';
export type { BuildAppOptions } from './app.js';
export { DEFAULT_LIMITS } from './context.js';
export type { AnonymousIngest, CollectorContext, CollectorLimits } from './context.js';
export type { IdentityConfig } from './identity/service.js';
// Roles of the route table (access/routes.ts).
export { ROLES } from './access/roles.js';
export type { Role } from './access/roles.js';
// The ports a registry or policy store implements (their contract suites: /testing).
export type { RegistryStore, Revocation } from './identity/registry.js';
export type { PolicyStore } from './policy/store.js';
export { oidcIssuer } from './identity/oidc.js';
// Human sign-in through an OpenID provider (console and CLI).
export { checkSignInConfig, parseRoleMappings } from './signin/config.js';
export type { SignInConfig, UserClaim } from './signin/config.js';
export type { WitnessEndpoint } from './witness/cosign-client.js';
export { WIRE_ERRORS } from './errors.js';
export type { WireErrorCode } from './errors.js';
// The answers of the investigation routes, for clients that read them.
export type { CoverageReport, RecordRef } from './investigate/coverage.js';
export type { ProvenanceAnswer } from './investigate/provenance.js';
export type { TraceNode } from './investigate/trace.js';
// The witness (`provenant witness`): cosigns the checkpoints of the logs it is given.
export { startWitness } from './witness/server.js';
export type { RunningWitness, WitnessServerConfig } from './witness/server.js';
export { WITNESS_KEY_FILE, WITNESS_VERIFIER_KEY_FILE } from './witness/keyfile.js';
