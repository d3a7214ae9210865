/**
 * What the proxy records as a call's `result_digest`. The recorded digest covers the JSON text
 * of the JSON-RPC `result` as the server sent it: over stdio and Streamable HTTP the exact bytes
 * between the `"result":` member's value start and end (hashed as they are read, see
 * `transport/scan.ts`); over transports that hand over parsed messages (in-memory; an HTTP
 * answer that reaches the proxy on a resumed GET stream) the text
 * `JSON.stringify(result)` gives — the same bytes for servers that serialize with
 * `JSON.stringify`, as the official MCP SDKs do — hashed piece by piece, never built whole.
 *
 * The SDK recorder digests whatever the wrapped call returns (SHA-256 of its canonical JSON,
 * `digestOf`), so the call returns `{ bytes, sha256 }` of the result text and
 * `result_digest = digestOf({ bytes, sha256 })`: recomputable by anyone with the result's bytes.
 */
import { createHash } from 'node:crypto';
import type { Hash } from 'node:crypto';
import { digestOf } from '@provenant/core';

/** The SHA-256 (hex) and UTF-8 length of a result's JSON text. */
export interface ResultText {
  readonly bytes: number;
  readonly sha256: string;
}

/** The recorded `result_digest` for a result's JSON text. */
export function resultDigest(text: ResultText): string {
  return digestOf({ bytes: text.bytes, sha256: text.sha256 });
}

/** `{ bytes, sha256 }` of `JSON.stringify(value)`, without building that string. */
export function jsonText(value: unknown): ResultText {
  const h = createHash('sha256');
  const out: Out = { h, bytes: 0, pending: '' };
  write(out, value);
  flush(out);
  return { bytes: out.bytes, sha256: h.digest('hex') };
}

interface Out {
  readonly h: Hash;
  bytes: number;
  /** Small pieces, hashed together (one hash update per token would be slow). */
  pending: string;
}

/** Strings longer than this are escaped and hashed in slices of it. */
const SLICE = 1 << 20;

function flush(out: Out): void {
  if (out.pending === '') return;
  out.h.update(out.pending, 'utf8');
  out.bytes += Buffer.byteLength(out.pending, 'utf8');
  out.pending = '';
}

function put(out: Out, s: string): void {
  out.pending += s;
  if (out.pending.length >= 1 << 16) flush(out);
}

function putString(out: Out, s: string): void {
  if (s.length <= SLICE) {
    put(out, JSON.stringify(s));
    return;
  }
  put(out, '"');
  for (let at = 0; at < s.length;) {
    let end = Math.min(at + SLICE, s.length);
    // Never split a surrogate pair: JSON.stringify escapes a lone half.
    const last = s.charCodeAt(end - 1);
    if (end < s.length && last >= 0xd800 && last <= 0xdbff) end--;
    put(out, JSON.stringify(s.slice(at, end)).slice(1, -1));
    at = end;
  }
  put(out, '"');
}

/** Writes what JSON.stringify writes for `value` (returns false for what it leaves out). */
function write(out: Out, value: unknown): boolean {
  if (value !== null && typeof value === 'object') {
    const toJSON = (value as { toJSON?: unknown }).toJSON;
    if (typeof toJSON === 'function') {
      // Rare (a Date in an in-process server's answer): do exactly what JSON.stringify does.
      const text = JSON.stringify(value);
      if (text === undefined) return false;
      put(out, text);
      return true;
    }
  }
  switch (typeof value) {
    case 'string':
      putString(out, value);
      return true;
    case 'number':
      put(out, Number.isFinite(value) ? String(value) : 'null');
      return true;
    case 'boolean':
      put(out, value ? 'true' : 'false');
      return true;
    case 'object': {
      if (value === null) {
        put(out, 'null');
        return true;
      }
      if (Array.isArray(value)) {
        put(out, '[');
        for (let i = 0; i < value.length; i++) {
          if (i > 0) put(out, ',');
          if (!write(out, value[i])) put(out, 'null');
        }
        put(out, ']');
        return true;
      }
      put(out, '{');
      let first = true;
      for (const key of Object.keys(value)) {
        const v = (value as Record<string, unknown>)[key];
        if (v === undefined || typeof v === 'function' || typeof v === 'symbol') continue;
        put(out, `${first ? '' : ','}${JSON.stringify(key)}:`);
        first = false;
        write(out, v);
      }
      put(out, '}');
      return true;
    }
    case 'bigint':
      throw new TypeError('Do not know how to serialize a BigInt');
    default:
      return false;
  }
}
