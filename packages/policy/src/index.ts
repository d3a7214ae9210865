export { PolicyError, type PolicyErrorCode } from './errors.js';
export {
  EMPTY_POLICY_SET_DIGEST,
  policySetDigest,
  type CedarEntity,
  type DecisionRequest,
  type EngineDecision,
  type EntityUid,
  type LoadedPolicySet,
  type PolicyEngine,
  type PolicyFile,
  type PolicySetSource,
} from './engine.js';
export { CedarEngine } from './engines/cedar/index.js';
export {
  MemoryEngine,
  type MemoryEngineOptions,
  type MemoryPolicy,
} from './engines/memory/index.js';
export {
  MAX_POLICY_FILE_BYTES,
  SCHEMA_FILE_NAME,
  readPolicyFolder,
  watchPolicyFolder,
  type WatchOptions,
} from './folder.js';
export {
  ACTION_TYPE,
  AGENT_TYPE,
  PRINCIPAL_ENTITY_TYPES,
  RESOURCE_TYPE,
  UNKNOWN_PRINCIPAL_TYPE,
  buildDecisionRequest,
  type ActionInput,
} from './request.js';
export {
  DecisionPoint,
  describeDrift,
  isLowRisk,
  type Decision,
  type DecisionPointOptions,
  type DecisionReason,
  type FailPolicy,
} from './decision-point.js';
export {
  AUDIT_LEVELS,
  DEFAULT_AUDIT_RULES,
  applyAuditRule,
  auditViolations,
  hmacValue,
  parseAuditRules,
  redactArgs,
  ruleFor,
  type AuditLevel,
  type AuditRule,
  type AuditRules,
} from './audit-rules.js';
