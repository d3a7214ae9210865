export { createRelay } from './relay/relay.js';
export type {
  ClientSession,
  Forwarded,
  Interceptor,
  Relay,
  RelayOptions,
  Upstream,
} from './relay/relay.js';
export { createPolicyGate } from './policy/gate.js';
export type { PolicyGate, PolicyGateOptions } from './policy/gate.js';
export { loadConfig, parseConfig } from './policy/config.js';
export type {
  ActionClass,
  Classified,
  MappingEntry,
  ProxyConfig,
  Risk,
  ToolAnnotations,
} from './policy/config.js';
export type { RelayTransport } from './transport/capabilities.js';
export { StreamTransport } from './transport/stream.js';
export { FrontHttpTransport } from './transport/http-front.js';
export type { FrontHttpOptions } from './transport/http-front.js';
export { UpstreamHttpTransport } from './transport/http-upstream.js';
export type { UpstreamHttpOptions } from './transport/http-upstream.js';
export { WIRE_ERROR } from './wire.js';
export type { Checked, WireErrorCode } from './wire.js';
export {
  McpProxyError,
  InvalidConfigError,
  UpstreamClosedError,
  UpstreamMalformedError,
} from './errors.js';
export type { McpProxyErrorCode } from './errors.js';
export { runStdioProxy } from './proxy/stdio.js';
export type { StdioProxyOptions, StdioProxyResult } from './proxy/stdio.js';
export type { RecordingOptions } from './proxy/recording.js';
export { MCP_PATH, RESOURCE_METADATA_PATH, startHttpProxy } from './proxy/http.js';
export type { HttpProxyOptions, RunningHttpProxy } from './proxy/http.js';
export { RawResponse } from './transport/scan.js';
export type { ResultSummary } from './transport/scan.js';
export { jsonText, resultDigest } from './digest.js';
export { RECEIPT_META_KEY, receiptSigner } from './receipt.js';
export type { Receipt, ReceiptKey, ReceiptSigner } from './receipt.js';
export type { ResultText } from './digest.js';
export { COAZ_ERROR, createCoazPep } from './coaz/pep.js';
export type { CoazPepOptions } from './coaz/pep.js';
export { declaredMappings, mapRequest } from './coaz/mapping.js';
export type { Mapped, MappingOptions, TokenClaims } from './coaz/mapping.js';
export { collectorCredential, tokenValidator } from './coaz/token.js';
export type { TokenValidation } from './coaz/token.js';
