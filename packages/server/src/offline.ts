// @provenant/server/offline: what the collector does to records, usable without it running (no
// HTTP server is loaded): a record made into a log entry, OTLP spans mapped to records, records
// exported as JSON lines, OCSF or OTLP spans, and the names of a data folder's files.
export {
  ADMIN_TOKEN_FILE,
  AUDIT_HMAC_KEY_FILE,
  COSIGNED_CHECKPOINT_FILE,
  ISSUER_KEYS_FILE,
  LEDGER_FILE,
} from './data-folder.js';
export { prepareRecord } from './ingest/prepare.js';
export { timeToMicros } from './ingest/time.js';
export { decodeTraceRequest } from './otlp/protobuf.js';
export { decodeTraceRequestJson } from './otlp/json.js';
export { mapSpans } from './otlp/map.js';
export type { SpanMapping } from './otlp/map.js';
export { exportPages } from './export/stream.js';
export type { ExportFilter } from './export/stream.js';
export { EXPORT_FORMATS, formatLine, isExportFormat } from './export/formats.js';
export type { ExportFormat } from './export/formats.js';
export { recordWithIntegrity } from './routes/records.js';
export { toOcsfApiActivity } from './export/ocsf.js';
export type { OcsfApiActivity, ServedRecord } from './export/ocsf.js';
export {
  DEFAULT_OTLP_ENDPOINT,
  OTLP_PROTOCOLS,
  OtlpExportError,
  OtlpSender,
} from './export/otlp.js';
export type { OtlpProtocol, OtlpSendOptions, OtlpSendResult } from './export/otlp.js';
