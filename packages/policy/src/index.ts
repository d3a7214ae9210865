export { PolicyError, type PolicyErrorCode } from './errors.js';
export {
  EMPTY_POLICY_SET_DIGEST,
  policySetDigest,
  type CedarEntity,
  type DecisionRequest,
  type EngineDecision,
  type EntityUid,
  type LoadedPolicySet,
  type PdpEvidence,
  type PolicyEngine,
  type PolicyFile,
  type PolicySetSource,
} from './engine.js';
export { CedarEngine } from './engines/cedar/index.js';
export {
  AuthzenEngine,
  checkPdpUrl,
  toAuthzen,
  type AuthzenEngineOptions,
} from './engines/authzen/index.js';
export {
  MemoryEngine,
  type MemoryEngineOptions,
  type MemoryPolicy,
} from './engines/memory/index.js';
export { readPolicyFolder, watchPolicyFolder, type WatchOptions } from './folder.js';
export { buildDecisionRequest, type ActionInput, type DecisionAuthority } from './request.js';
export {
  ACTION_CATALOG_FILE,
  catalogAction,
  parseActionCatalog,
  type ActionCatalog,
  type CatalogEntry,
  type CatalogStanding,
  type CatalogedAction,
} from './catalog.js';
export {
  DEFAULT_DECISION_VALIDITY_MS,
  DecisionPoint,
  decidedAction,
  describeDrift,
  type Decision,
  type DecisionPointOptions,
  type DecisionReason,
  type FailPolicy,
} from './decision-point.js';
export {
  DEFAULT_AUDIT_RULES,
  applyAuditRule,
  hmacValue,
  parseAuditRules,
  ruleFor,
  type AuditLevel,
  type AuditRule,
  type AuditRules,
} from './audit-rules.js';
