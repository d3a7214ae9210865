/**
 * The protocol revisions the proxy serves and how a request says which one it speaks, as MCP
 * revision 2026-07-28 defines it ("Versioning and Compatibility", "Streamable HTTP: Request
 * Metadata"): a modern request carries its revision in `_meta` (`io.modelcontextprotocol/
 * protocolVersion`) and, over Streamable HTTP, mirrors it, its method and its name into the
 * `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers; a legacy one (2025-11-25 and
 * earlier) belongs to the session its `initialize` opened.
 */
import {
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/server';
import type { JSONRPCRequest } from '@modelcontextprotocol/server';

/** The per-request revisions the proxy serves (statelessly). */
export const MODERN_VERSIONS: readonly string[] = ['2026-07-28'];
/** The `initialize` revisions the proxy serves (a session each), newest first. */
export const LEGACY_VERSIONS: readonly string[] = SUPPORTED_PROTOCOL_VERSIONS.filter(
  (v) => v >= '2024-11-05',
);
/** Every revision, newest first: what an `UnsupportedProtocolVersion` error lists. */
export const SERVED_VERSIONS: readonly string[] = [...MODERN_VERSIONS, ...LEGACY_VERSIONS];

/** The methods whose `Mcp-Name` header mirrors `params.name` or `params.uri`. */
const NAMED_METHODS: Readonly<Record<string, 'name' | 'uri'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
};

const metaOf = (r: { params?: unknown }): Record<string, unknown> | undefined => {
  const meta = (r.params as { _meta?: unknown } | undefined)?._meta;
  return typeof meta === 'object' && meta !== null ? (meta as Record<string, unknown>) : undefined;
};

/** The revision a request claims in its `_meta` envelope (modern), if it claims one. */
export function envelopeVersion(r: { params?: unknown }): string | undefined {
  const v = metaOf(r)?.[PROTOCOL_VERSION_META_KEY];
  return typeof v === 'string' ? v : undefined;
}

/** The client's self-reported name and version from the envelope (display and records only). */
export function clientInfoOf(r: {
  params?: unknown;
}): { readonly name: string; readonly version?: string } | undefined {
  const info = metaOf(r)?.[CLIENT_INFO_META_KEY] as
    { name?: unknown; version?: unknown } | undefined;
  if (typeof info?.name !== 'string' || info.name === '') return undefined;
  return typeof info.version === 'string'
    ? { name: info.name.slice(0, 256), version: info.version.slice(0, 256) }
    : { name: info.name.slice(0, 256) };
}

/** The body value `Mcp-Name` mirrors for this request, if its method has one. */
export function mirroredName(r: JSONRPCRequest): string | undefined {
  const field = NAMED_METHODS[r.method];
  if (field === undefined) return undefined;
  const v = (r.params as Record<string, unknown> | undefined)?.[field];
  return typeof v === 'string' ? v : undefined;
}

const SENTINEL = /^=\?base64\?([A-Za-z0-9+/]*={0,2})\?=$/;
// RFC 9110 field values: visible ASCII, space and tab.
const SAFE_VALUE = /^[\x20-\x7e\t]*$/;

/**
 * A header value as the spec encodes it: plain ASCII, or `=?base64?…?=` around the UTF-8 bytes;
 * undefined when it is neither (invalid characters, or a sentinel that is not base64).
 */
export function decodeHeaderValue(value: string): string | undefined {
  const m = SENTINEL.exec(value);
  if (m) {
    const bytes = Buffer.from(m[1]!, 'base64');
    if (bytes.toString('base64') !== m[1]) return undefined;
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  }
  return SAFE_VALUE.test(value) ? value : undefined;
}

/** Why a modern request's standard headers disagree with its body (`HeaderMismatch`). */
export interface HeaderMismatch {
  readonly header: string;
  readonly message: string;
  /** What the header said (decoded), absent when it was missing or unreadable. */
  readonly value?: string;
  /** What the body says. */
  readonly body?: string;
}

/**
 * Checks the standard request headers of a modern POST against its body, as "Server Validation"
 * requires: `MCP-Protocol-Version`, `Mcp-Method` and, for `tools/call`, `resources/read` and
 * `prompts/get`, `Mcp-Name` must be present and equal the body's values (`Mcp-Name` decoded).
 * `Mcp-Param-*` headers are the server's to check (the proxy passes them on).
 */
export function checkStandardHeaders(
  headers: {
    readonly protocolVersion?: string | undefined;
    readonly method?: string | undefined;
    readonly name?: string | undefined;
  },
  r: JSONRPCRequest,
): HeaderMismatch | undefined {
  const version = envelopeVersion(r);
  if (headers.protocolVersion === undefined) {
    return {
      header: 'MCP-Protocol-Version',
      message: 'the MCP-Protocol-Version header is missing',
    };
  }
  if (headers.protocolVersion !== version) {
    return {
      header: 'MCP-Protocol-Version',
      message: `the MCP-Protocol-Version header (${headers.protocolVersion}) does not match the body (${version})`,
      value: headers.protocolVersion,
      ...(version !== undefined ? { body: version } : {}),
    };
  }
  if (headers.method === undefined) {
    return { header: 'Mcp-Method', message: 'the Mcp-Method header is missing' };
  }
  if (headers.method !== r.method) {
    return {
      header: 'Mcp-Method',
      message: `the Mcp-Method header value '${headers.method}' does not match the body value '${r.method}'`,
      value: headers.method,
      body: r.method,
    };
  }
  if (NAMED_METHODS[r.method] === undefined) return undefined;
  const body = mirroredName(r);
  if (headers.name === undefined) {
    return body === undefined
      ? undefined
      : { header: 'Mcp-Name', message: 'the Mcp-Name header is missing', body };
  }
  const value = decodeHeaderValue(headers.name);
  if (value === undefined) {
    return {
      header: 'Mcp-Name',
      message: 'the Mcp-Name header has invalid characters or encoding',
    };
  }
  if (value !== body) {
    return {
      header: 'Mcp-Name',
      message: `the Mcp-Name header value '${value}' does not match the body value '${body ?? ''}'`,
      value,
      ...(body !== undefined ? { body } : {}),
    };
  }
  return undefined;
}
