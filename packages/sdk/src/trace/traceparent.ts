/** W3C Trace Context `traceparent` (version 00): parse, format, and fresh ids. */
import { randomFillSync } from 'node:crypto';

export interface TraceParent {
  /** 32 lowercase hex digits, not all zero. */
  readonly traceId: string;
  /** The parent span: 16 lowercase hex digits, not all zero. */
  readonly spanId: string;
  readonly sampled: boolean;
}

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(?:-.*)?$/;

/** Parses a `traceparent` header value; null when it is absent or invalid (the spec says: restart). */
export function parseTraceparent(value: string | null | undefined): TraceParent | null {
  if (typeof value !== 'string') return null;
  const m = TRACEPARENT.exec(value.trim());
  if (!m) return null;
  const [, version, traceId, spanId, flags] = m as unknown as [
    string,
    string,
    string,
    string,
    string,
  ];
  if (version === 'ff' || (version === '00' && value.trim().length !== 55)) return null;
  if (/^0+$/.test(traceId) || /^0+$/.test(spanId)) return null;
  return { traceId, spanId, sampled: (Number.parseInt(flags, 16) & 1) === 1 };
}

export function formatTraceparent(t: TraceParent): string {
  return `00-${t.traceId}-${t.spanId}-${t.sampled ? '01' : '00'}`;
}

// Random ids from a pooled buffer: one randomFillSync per 512 ids instead of one per id.
const POOL = Buffer.alloc(4096);
let offset = POOL.length;

function randomHex(bytes: number): string {
  for (;;) {
    if (offset + bytes > POOL.length) {
      randomFillSync(POOL);
      offset = 0;
    }
    const hex = POOL.toString('hex', offset, offset + bytes);
    offset += bytes;
    if (!/^0+$/.test(hex)) return hex;
  }
}

export const newTraceId = (): string => randomHex(16);
export const newSpanId = (): string => randomHex(8);

/** Reads `traceparent` from HTTP headers (a Headers object or a plain record, any case). */
export function traceparentFromHeaders(
  headers: Headers | Record<string, string | string[] | undefined>,
): TraceParent | null {
  if (typeof (headers as Headers).get === 'function') {
    return parseTraceparent((headers as Headers).get('traceparent'));
  }
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === 'traceparent') return parseTraceparent(Array.isArray(v) ? v[0] : v);
  }
  return null;
}

/** Reads `traceparent` from an MCP request's `params._meta`. */
export function traceparentFromMcpMeta(
  meta: Record<string, unknown> | undefined,
): TraceParent | null {
  const v = meta?.['traceparent'];
  return typeof v === 'string' ? parseTraceparent(v) : null;
}
