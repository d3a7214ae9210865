export { buildApp } from './app.js';
export type { BuildAppOptions } from './app.js';
export { startCollector, LEDGER_FILE } from './collector.js';
export type { CollectorConfig, RunningCollector } from './collector.js';
export { DEFAULT_LIMITS } from './context.js';
export type { CollectorContext, CollectorLimits } from './context.js';
export { WIRE_ERRORS, RequestError, toWireError } from './errors.js';
export type { WireErrorCode } from './errors.js';
export { prepareRecord, timeToMicros, MAX_CANONICAL_RECORD_BYTES } from './ingest/prepare.js';
export { recordWithIntegrity } from './routes/records.js';
export {
  IdentityService,
  defaultIdentityConfig,
  ISSUER_PRINCIPAL,
  COLLECTOR_PRINCIPAL,
} from './identity/service.js';
export type { IdentityConfig } from './identity/service.js';
export { MemoryRegistryStore, SqliteRegistryStore } from './identity/registry.js';
export type { RegistryStore } from './identity/registry.js';
export { AlertLimiter } from './identity/attributor.js';
export { oidcIssuer } from './identity/oidc.js';
export { ADMIN_TOKEN_FILE } from './identity/admin.js';
export { CoverageAccumulator, coverageReport, classesOf } from './investigate/coverage.js';
export type { CoverageReport, RecordRef, ActionClass } from './investigate/coverage.js';
export { provenanceOf } from './investigate/provenance.js';
export type { ProvenanceAnswer } from './investigate/provenance.js';
export { buildTraceTree, renderTraceTree } from './investigate/trace.js';
export type { TraceNode, TraceRecord } from './investigate/trace.js';
export { Detector, detectionAlert, DEFAULT_DETECTION_CONFIG } from './investigate/detections.js';
export type { Detection, DetectionCode, DetectionConfig } from './investigate/detections.js';
