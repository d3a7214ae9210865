/**
 * OpenTelemetry: the active span's ids become the record's trace ids, and the record's
 * attribution goes onto the span as GenAI semantic-convention and `provenant.*` attributes.
 */
import { trace } from '@opentelemetry/api';
import type { Attributes, Span } from '@opentelemetry/api';

export function activeSpan(): Span | undefined {
  const span = trace.getActiveSpan();
  if (!span) return undefined;
  const sc = span.spanContext();
  // The no-op span of an API without an SDK has all-zero ids: treat it as no span.
  return sc.traceId === '00000000000000000000000000000000' ? undefined : span;
}

export function setAttributes(span: Span, attributes: Attributes): void {
  if (span.isRecording()) span.setAttributes(attributes);
}
