/**
 * The part of an OTLP `ExportTraceServiceRequest` the receiver reads, decoded from either wire
 * encoding (protobuf or OTLP/JSON) into one plain shape. Ids are lowercase hex as found (their
 * validity is checked per span by the mapping, so one bad span does not refuse the request).
 */

/** An OTLP `AnyValue`: int64 values beyond 2^53 are kept as decimal strings, bytes as base64. */
export type OtlpValue = string | number | boolean | null | OtlpValue[] | OtlpAttributes;

export interface OtlpAttributes {
  [key: string]: OtlpValue;
}

export interface OtlpLink {
  readonly traceId: string;
  readonly spanId: string;
}

export interface OtlpSpan {
  readonly traceId: string;
  readonly spanId: string;
  /** '' when the span is a root. */
  readonly parentSpanId: string;
  readonly name: string;
  readonly kind: number;
  /** Nanoseconds since the Unix epoch. */
  readonly startTimeUnixNano: bigint;
  readonly endTimeUnixNano: bigint;
  readonly attributes: OtlpAttributes;
  readonly links: readonly OtlpLink[];
  /** 0 unset, 1 ok, 2 error (OTLP `Status.StatusCode`). */
  readonly statusCode: number;
  readonly statusMessage: string;
  /** The attributes of the span's resource (shared by the spans of one `ResourceSpans`). */
  readonly resource: OtlpAttributes;
  readonly scope: { readonly name: string; readonly version: string };
}

/** Thrown by the decoders: the body is not an `ExportTraceServiceRequest`. */
export class OtlpDecodeError extends Error {
  constructor(
    readonly code: 'malformed_protobuf' | 'malformed_json' | 'malformed_otlp' | 'too_many_records',
    message: string,
  ) {
    super(message);
    this.name = 'OtlpDecodeError';
  }
}

/**
 * Most spans one export request may hold (any kind, GenAI or not): bounds the memory a small
 * protobuf body of many tiny spans can make the decoder allocate.
 */
export const MAX_SPANS_PER_REQUEST = 50_000;

export function tooManySpans(): never {
  throw new OtlpDecodeError(
    'too_many_records',
    `An export request may hold at most ${MAX_SPANS_PER_REQUEST} spans.`,
  );
}

/** Deepest nesting of `AnyValue` arrays and key-value lists the decoders accept. */
export const MAX_VALUE_DEPTH = 32;
