/**
 * `@provenant/core/vocabulary`: the record's vocabulary and the rules every part shares, with no
 * Node built-in and no zod, so the console and any runtime can import it.
 */
export {
  ATTRIBUTION_LEVELS,
  CAUSE_KINDS,
  EVENT_SCHEMA,
  OUTCOME_STATUSES,
  PRINCIPAL_KINDS,
} from './kinds.js';
export type { AttributionLevel, OutcomeStatus } from './kinds.js';
export { MAX_CREDENTIAL_LIFETIME_SEC, MAX_RECORD_BYTES } from './limits.js';
export {
  POLICY_CHANGED_RECORD_TYPE,
  POSTURE_LEVELS,
  POSTURE_SIGNAL_SOURCES,
  REMEDIATION_CAUSES,
  REMEDIATION_TARGET_KINDS,
  type PostureLevel,
  type RemediationCause,
  type RemediationTargetKind,
} from './remediation.js';
export {
  PRINCIPAL_ID_PREFIXES,
  impliedKind,
  recordedKind,
  shortName,
  spiffeAgentParts,
  type PrincipalKind,
} from './principal-kind.js';
export {
  ACTION_CLASSES,
  ACTION_CLASS_FLAGS,
  ACTION_RECORD_TYPES,
  AGENT_RECORD_TYPES,
  COVERAGE_CLASS_BIT,
  COVERAGE_FLAG,
  NO_ACTION_CLASS,
  actionClassFlagList,
  GRANT_RECORD_TYPES,
  WITNESS_REASONS,
  WITNESS_RECORD_TYPES,
  actionClassesOf,
  coverageFacts,
  isActionRecord,
  isGrantRecord,
  witnessedAs,
  type ActionClass,
  type ActionClassFlag,
  type ActionClassFlags,
  type ClassifiableRecord,
  type CoverageFacts,
} from './records.js';
export {
  DELEGABLE_ROLES,
  ROLES,
  ROLE_RECORD_TYPES,
  SCOPE_CEILING_RECORD_TYPE,
  isRole,
  type Role,
} from './roles.js';
export { equalBytes } from './bytes.js';
export { bearerToken } from './bearer.js';
export { ACTION_NAME_MAX, ACTION_NAME_PATTERN, isActionName } from './action-name.js';
export { UUID_PATTERN, isUuid } from '../ids/uuid-pattern.js';
export {
  hostOfUrl,
  hostRefusal,
  listenerHosts,
  loopbackRule,
  parseAllowedHost,
  parseAllowedOrigin,
  type AllowedHost,
  type HostRefusal,
  type HostRule,
} from './allowed-hosts.js';
