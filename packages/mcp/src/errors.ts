/**
 * Local errors of the MCP proxy: thrown to the code that runs the proxy, never sent on the wire.
 * What peers receive are JSON-RPC errors, built in `wire.ts`.
 */
import { ProvenantError } from '@provenant/core';

// `tool_error`, `upstream_error` and `call_cancelled` are recorded outcome codes (policy/gate.ts),
// never thrown.
export type McpProxyErrorCode = 'invalid_config' | 'upstream_closed' | 'upstream_malformed';

/** The base of every error the proxy throws on purpose. */
export class McpProxyError extends ProvenantError {
  declare readonly code: McpProxyErrorCode;
  constructor(code: McpProxyErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/** The proxy configuration file is unreadable or has the wrong shape. */
export class InvalidConfigError extends McpProxyError {
  constructor(message: string) {
    super('invalid_config', message);
  }
}

/** The upstream MCP server went away while a request was in flight. */
export class UpstreamClosedError extends McpProxyError {
  constructor(readonly reason: string) {
    super('upstream_closed', `The upstream MCP server closed: ${reason}.`, { reason });
  }
}

/** The upstream MCP server answered a request with a message that is not JSON-RPC. */
export class UpstreamMalformedError extends McpProxyError {
  constructor(readonly reason: string) {
    super('upstream_malformed', `The MCP server's answer was malformed: ${reason}.`, { reason });
    // Recorded as the outcome's error code.
    this.name = 'upstream_malformed';
  }
}
