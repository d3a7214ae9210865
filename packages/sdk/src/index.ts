export { createRecorder, PRODUCER } from './recorder.js';
export type {
  CallOutcome,
  CallStart,
  DelegateOptions,
  DeliveryStats,
  OpenCall,
  RecordCallOptions,
  RecordedTool,
  Recorder,
  RecorderOptions,
  RecorderStats,
  Session,
  SessionOptions,
  ToolClass,
  ToolOptions,
} from './recorder.js';
export { currentContext } from './context.js';
export type { WorkContext } from './context.js';
export type { ExportBatch, ExporterStats, RecordExporter } from './export/exporter.js';
export type { OverflowPolicy } from './export/http.js';
export type { FsyncPolicy } from './export/spool.js';
export { readIdentityFile } from './lib/auth.js';
export type { AgentIdentity, CredentialIssuer } from './lib/auth.js';
export { remotePdp } from './lib/decisions.js';
export type { Decision, DecisionRequest, Pdp } from './lib/decisions.js';
export {
  SdkError,
  PolicyDeniedError,
  DecisionUnavailableError,
  IntentNotDurableError,
  RecorderOverflowError,
  RecorderClosedError,
  TokenExchangeError,
  InvalidIdentityError,
  whyDenied,
} from './errors.js';
export type { DecisionUnavailableReason, SdkErrorCode } from './errors.js';
export {
  formatTraceparent,
  parseTraceparent,
  traceparentFromHeaders,
  traceparentFromMcpMeta,
} from './trace/traceparent.js';
export type { TraceParent } from './trace/traceparent.js';
export { currentTraceparent, traceHeaders, withMcpMeta } from './trace/propagation.js';
export { recordAiTools } from './integrations/ai.js';
