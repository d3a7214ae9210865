/**
 * What goes on the wire: JSON-RPC error responses the proxy itself sends to a peer, and a cheap
 * structural check of incoming messages. Local errors (`errors.ts`) never travel as they are.
 */
import type { JSONRPCErrorResponse, JSONRPCMessage, RequestId } from '@modelcontextprotocol/server';

/** JSON-RPC error codes the proxy sends; the `data.code` string names the Provenant reason. */
export const WIRE_ERROR = {
  parse_error: -32700,
  invalid_request: -32600,
  internal_error: -32603,
  // MCP 2026-07-28's own codes (HeaderMismatch, UnsupportedProtocolVersion)
  header_mismatch: -32020,
  unsupported_protocol_version: -32022,
  // New Provenant codes go outside JSON-RPC's reserved range, as MCP 2026-07-28 asks
  session_not_owned: -31001,
  policy_denied: -32010,
  decision_unavailable: -32011,
  intent_not_durable: -32012,
  attribution_failed: -32013,
  upstream_closed: -32014,
  unauthenticated: -32015,
  upstream_malformed: -32016,
  // Streamable HTTP, answered with HTTP 403 before anything else (the MCP transport rules)
  host_not_allowed: -32017,
  origin_not_allowed: -32018,
  // The config's action template filled in with the call's arguments is no action name.
  invalid_action_name: -32019,
} as const;

export type WireErrorCode = keyof typeof WIRE_ERROR;

/** A JSON-RPC error response from the proxy, `data.code` carrying the stable reason. */
export function wireError(
  id: RequestId | null,
  code: WireErrorCode,
  message: string,
  data: Record<string, unknown> = {},
): JSONRPCErrorResponse {
  return {
    jsonrpc: '2.0',
    // JSON-RPC 2.0 answers a message whose id cannot be read with id null.
    id: id as RequestId,
    error: { code: WIRE_ERROR[code], message, data: { code, ...data } },
  };
}

export type Checked =
  | {
      readonly kind: 'request';
      readonly message: JSONRPCMessage & { id: RequestId; method: string };
    }
  | { readonly kind: 'notification'; readonly message: JSONRPCMessage & { method: string } }
  | { readonly kind: 'response'; readonly message: JSONRPCMessage & { id: RequestId } }
  | { readonly kind: 'invalid'; readonly id: RequestId | null; readonly reason: string };

const isId = (v: unknown): v is RequestId =>
  typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v));

/**
 * Sorts a parsed message into request, notification or response, or says why it is not a
 * JSON-RPC 2.0 message. Only the envelope is checked: params and results pass untouched.
 */
export function checkMessage(value: unknown): Checked {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { kind: 'invalid', id: null, reason: 'a JSON-RPC message must be a JSON object' };
  }
  const m = value as Record<string, unknown>;
  const id = isId(m['id']) ? m['id'] : null;
  if (m['jsonrpc'] !== '2.0') return { kind: 'invalid', id, reason: 'jsonrpc must be "2.0"' };
  const params = m['params'];
  if (params !== undefined && (typeof params !== 'object' || params === null)) {
    return { kind: 'invalid', id, reason: 'params must be an object or an array' };
  }
  if ('method' in m) {
    if (typeof m['method'] !== 'string' || m['method'] === '') {
      return { kind: 'invalid', id, reason: 'method must be a non-empty string' };
    }
    if (!('id' in m)) return { kind: 'notification', message: value as Checked & never };
    if (id === null) return { kind: 'invalid', id, reason: 'id must be a string or an integer' };
    return { kind: 'request', message: value as Checked & never };
  }
  if (id === null)
    return { kind: 'invalid', id, reason: 'a response needs a string or integer id' };
  const hasResult = 'result' in m;
  if (hasResult === 'error' in m) {
    return { kind: 'invalid', id, reason: 'a response needs exactly one of result and error' };
  }
  const err = m['error'] as { code?: unknown; message?: unknown } | undefined;
  if (
    !hasResult &&
    (typeof err !== 'object' ||
      err === null ||
      typeof err.code !== 'number' ||
      typeof err.message !== 'string')
  ) {
    return { kind: 'invalid', id, reason: 'error must have a numeric code and a message' };
  }
  if (hasResult && (typeof m['result'] !== 'object' || m['result'] === null)) {
    return { kind: 'invalid', id, reason: 'result must be an object' };
  }
  return { kind: 'response', message: value as Checked & never };
}
