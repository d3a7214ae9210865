/** `traceparent` out of the current context: for HTTP requests and MCP `_meta`. */
import { storage } from '../context.js';
import { activeSpan } from './otel.js';
import { formatTraceparent } from './traceparent.js';

/** The `traceparent` of the calling code (active OpenTelemetry span first), or undefined. */
export function currentTraceparent(): string | undefined {
  const span = activeSpan();
  if (span) {
    const sc = span.spanContext();
    return formatTraceparent({
      traceId: sc.traceId,
      spanId: sc.spanId,
      sampled: (sc.traceFlags & 1) === 1,
    });
  }
  const ctx = storage.getStore();
  return ctx
    ? formatTraceparent({ traceId: ctx.traceId, spanId: ctx.spanId, sampled: ctx.sampled })
    : undefined;
}

/** Headers to add to an outgoing HTTP request: `{ traceparent }`, or `{}` outside a context. */
export function traceHeaders(): Record<string, string> {
  const tp = currentTraceparent();
  return tp ? { traceparent: tp } : {};
}

/** An MCP request's `_meta` with `traceparent` added (the other keys kept). */
export function withMcpMeta<M extends Record<string, unknown>>(
  meta?: M,
): M & { traceparent?: string } {
  const tp = currentTraceparent();
  return (tp ? { ...meta, traceparent: tp } : { ...meta }) as M & { traceparent?: string };
}
