export { buildApp } from './app.js';
export type { BuildAppOptions } from './app.js';
export { startCollector, LEDGER_FILE } from './collector.js';
export type { CollectorConfig, RunningCollector } from './collector.js';
export { DEFAULT_LIMITS } from './context.js';
export type { CollectorContext, CollectorLimits } from './context.js';
export { WIRE_ERRORS, RequestError, toWireError } from './errors.js';
export type { WireErrorCode } from './errors.js';
export { prepareRecord } from './ingest/prepare.js';
export { timeToMicros } from './ingest/time.js';
export { recordWithIntegrity } from './routes/records.js';
export {
  IdentityService,
  defaultIdentityConfig,
  ISSUER_PRINCIPAL,
  COLLECTOR_PRINCIPAL,
} from './identity/service.js';
export type { IdentityConfig } from './identity/service.js';
export { MemoryRegistryStore, SqliteRegistryStore } from './identity/registry.js';
export type { RegistryStore, Revocation } from './identity/registry.js';
export type { PolicyStore } from './policy/store.js';
export { AlertLimiter } from './identity/attributor.js';
export { oidcIssuer } from './identity/oidc.js';
export { ADMIN_TOKEN_FILE } from './identity/admin.js';
export {
  coverageReport,
  fillCoverageFacts,
  measureEntries,
  MEASURES,
} from './investigate/coverage.js';
export type { CoverageReport, RecordRef } from './investigate/coverage.js';
export { provenanceOf } from './investigate/provenance.js';
export type { ProvenanceAnswer } from './investigate/provenance.js';
export { buildTraceTree, renderTraceTree } from './investigate/trace.js';
export type { TraceNode, TraceRecord } from './investigate/trace.js';
export { Detector, detectionAlert, DEFAULT_DETECTION_CONFIG } from './investigate/detections.js';
export type { Detection, DetectionCode, DetectionConfig } from './investigate/detections.js';
export * from './witness/index.js';
export { otlpRoutes, otlpFormatOf } from './routes/otlp.js';
export type { OtlpStats } from './routes/otlp.js';
export {
  GENAI_OPERATIONS,
  OTLP_ID_NAMESPACE,
  genAiOperation,
  mapSpans,
  nanosToRfc3339,
  otlpRecordId,
} from './otlp/map.js';
export type { GenAiOperation, SpanMapping } from './otlp/map.js';
export { decodeTraceRequest, encodeStatus, encodeTraceResponse } from './otlp/protobuf.js';
export { decodeTraceRequestJson } from './otlp/json.js';
export { OtlpDecodeError } from './otlp/model.js';
export type { OtlpAttributes, OtlpLink, OtlpSpan, OtlpValue } from './otlp/model.js';
export { toOcsfApiActivity, OCSF_VERSION } from './export/ocsf.js';
export type { OcsfApiActivity, OcsfOptions, ServedRecord } from './export/ocsf.js';
export {
  OtlpSender,
  OtlpExportError,
  DEFAULT_OTLP_ENDPOINT,
  OTLP_PROTOCOLS,
  toSpan as recordToSpan,
  otlpJsonBody,
  exportResource,
  recordGenAiOperation,
} from './export/otlp.js';
export type { OtlpSendOptions, OtlpSendResult, OtlpProtocol, ExportSpan } from './export/otlp.js';
export {
  EXPORT_FORMATS,
  isExportFormat,
  exportPages,
  exportLine,
  exportChunks,
  servedRecord,
} from './export/stream.js';
export type { ExportFormat, ExportFilter } from './export/stream.js';
