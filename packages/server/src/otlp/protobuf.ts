/**
 * Protobuf wire format of OTLP traces (opentelemetry/proto, `trace_service.proto`,
 * `trace.proto`, `common.proto`): a strict decoder of `ExportTraceServiceRequest` for the fields
 * the receiver reads (every other field is skipped, as protobuf requires), and encoders of the
 * two answers (`ExportTraceServiceResponse`, `google.rpc.Status`). Truncated messages, wrong
 * wire types for known fields, invalid UTF-8 and over-deep values are `malformed_protobuf`.
 */
import { MAX_SPANS_PER_REQUEST, MAX_VALUE_DEPTH, OtlpDecodeError, tooManySpans } from './model.js';
import type { OtlpAttributes, OtlpLink, OtlpSpan, OtlpValue } from './model.js';

const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

const utf8 = new TextDecoder('utf-8', { fatal: true });

function malformed(message: string): never {
  throw new OtlpDecodeError('malformed_protobuf', `The body is not an OTLP protobuf: ${message}.`);
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.pos = start;
  }

  more(): boolean {
    return this.pos < this.end;
  }

  /** A varint that must fit in 2^53 (tags, lengths, enums, small counts). */
  varint(): number {
    let result = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) malformed('truncated varint');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) {
        if (result > Number.MAX_SAFE_INTEGER) malformed('varint out of range');
        return result;
      }
      mul *= 128;
    }
    return malformed('varint longer than 10 bytes');
  }

  /** A full 64-bit varint, as protobuf int64 (two's complement). */
  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) malformed('truncated varint');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return BigInt.asIntN(64, result);
      shift += 7n;
    }
    return malformed('varint longer than 10 bytes');
  }

  fixed64(): bigint {
    if (this.pos + 8 > this.end) malformed('truncated fixed64');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getBigUint64(0, true);
  }

  double(): number {
    if (this.pos + 8 > this.end) malformed('truncated double');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 8);
    this.pos += 8;
    return view.getFloat64(0, true);
  }

  /** Bounds of a length-delimited field; the reader moves past it. */
  span(): [number, number] {
    const len = this.varint();
    const start = this.pos;
    if (len > this.end - start) malformed('length beyond the end of the message');
    this.pos = start + len;
    return [start, start + len];
  }

  sub(): Reader {
    const [start, end] = this.span();
    return new Reader(this.buf, start, end);
  }

  bytes(): Uint8Array {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  string(): string {
    const [start, end] = this.span();
    // Short ASCII strings (attribute keys, names, ids) are decoded in JS: cheaper than a call
    // into the native decoder. Anything else goes through the strict UTF-8 decoder.
    if (end - start <= 64) {
      let ascii = true;
      for (let i = start; i < end; i++) {
        if (this.buf[i]! >= 0x80) {
          ascii = false;
          break;
        }
      }
      // One flat string (not a chain of concatenations, which later regexes would flatten).
      if (ascii) {
        return String.fromCharCode.apply(
          null,
          this.buf.subarray(start, end) as unknown as number[],
        );
      }
    }
    try {
      return utf8.decode(this.buf.subarray(start, end));
    } catch {
      return malformed('a string is not valid UTF-8');
    }
  }

  tag(): [field: number, wire: number] {
    const t = this.varint();
    const field = Math.floor(t / 8);
    if (field === 0) malformed('field number 0');
    return [field, t & 7];
  }

  skip(wire: number): void {
    switch (wire) {
      case VARINT:
        this.varint64();
        return;
      case FIXED64:
        if (this.pos + 8 > this.end) malformed('truncated fixed64');
        this.pos += 8;
        return;
      case LEN:
        this.span();
        return;
      case FIXED32:
        if (this.pos + 4 > this.end) malformed('truncated fixed32');
        this.pos += 4;
        return;
      default:
        malformed(`unsupported wire type ${wire}`);
    }
  }
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) malformed(`${what} has wire type ${actual}, expected ${expected}`);
}

/** Lowercase hex of an id (a flat string: regexes and hashing over it stay cheap). */
function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Decodes an `ExportTraceServiceRequest`. */
export function decodeTraceRequest(body: Uint8Array): OtlpSpan[] {
  const spans: OtlpSpan[] = [];
  const r = new Reader(body, 0, body.length);
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'resource_spans');
      readResourceSpans(r.sub(), spans);
    } else r.skip(wire);
  }
  return spans;
}

function readResourceSpans(r: Reader, out: OtlpSpan[]): void {
  let resource: OtlpAttributes = {};
  const scopes: Reader[] = [];
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'resource');
      resource = readResource(r.sub());
    } else if (field === 2) {
      expectWire(wire, LEN, 'scope_spans');
      scopes.push(r.sub());
    } else r.skip(wire);
  }
  // The resource may come after the scopes on the wire: read the scopes once it is known.
  for (const s of scopes) readScopeSpans(s, resource, out);
}

function readResource(r: Reader): OtlpAttributes {
  const attrs: OtlpAttributes = {};
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'resource attribute');
      readKeyValue(r.sub(), attrs, 0);
    } else r.skip(wire);
  }
  return attrs;
}

function readScopeSpans(r: Reader, resource: OtlpAttributes, out: OtlpSpan[]): void {
  let scope = { name: '', version: '' };
  const spans: Reader[] = [];
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'scope');
      scope = readScope(r.sub());
    } else if (field === 2) {
      expectWire(wire, LEN, 'span');
      if (out.length + spans.length >= MAX_SPANS_PER_REQUEST) tooManySpans();
      spans.push(r.sub());
    } else r.skip(wire);
  }
  for (const s of spans) out.push(readSpan(s, resource, scope));
}

function readScope(r: Reader): { name: string; version: string } {
  let name = '';
  let version = '';
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'scope name');
      name = r.string();
    } else if (field === 2) {
      expectWire(wire, LEN, 'scope version');
      version = r.string();
    } else r.skip(wire);
  }
  return { name, version };
}

function readSpan(
  r: Reader,
  resource: OtlpAttributes,
  scope: { name: string; version: string },
): OtlpSpan {
  let traceId = '';
  let spanId = '';
  let parentSpanId = '';
  let name = '';
  let kind = 0;
  let start = 0n;
  let end = 0n;
  const attributes: OtlpAttributes = {};
  const links: OtlpLink[] = [];
  let statusCode = 0;
  let statusMessage = '';
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expectWire(wire, LEN, 'trace_id');
        traceId = hex(r.bytes());
        break;
      case 2:
        expectWire(wire, LEN, 'span_id');
        spanId = hex(r.bytes());
        break;
      case 4:
        expectWire(wire, LEN, 'parent_span_id');
        parentSpanId = hex(r.bytes());
        break;
      case 5:
        expectWire(wire, LEN, 'name');
        name = r.string();
        break;
      case 6:
        expectWire(wire, VARINT, 'kind');
        kind = Number(r.varint64());
        break;
      case 7:
        expectWire(wire, FIXED64, 'start_time_unix_nano');
        start = r.fixed64();
        break;
      case 8:
        expectWire(wire, FIXED64, 'end_time_unix_nano');
        end = r.fixed64();
        break;
      case 9:
        expectWire(wire, LEN, 'attribute');
        readKeyValue(r.sub(), attributes, 0);
        break;
      case 13:
        expectWire(wire, LEN, 'link');
        links.push(readLink(r.sub()));
        break;
      case 15: {
        expectWire(wire, LEN, 'status');
        const s = r.sub();
        while (s.more()) {
          const [f, w] = s.tag();
          if (f === 2) {
            expectWire(w, LEN, 'status message');
            statusMessage = s.string();
          } else if (f === 3) {
            expectWire(w, VARINT, 'status code');
            statusCode = Number(s.varint64());
          } else s.skip(w);
        }
        break;
      }
      default:
        r.skip(wire);
    }
  }
  return {
    traceId,
    spanId,
    parentSpanId,
    name,
    kind,
    startTimeUnixNano: start,
    endTimeUnixNano: end,
    attributes,
    links,
    statusCode,
    statusMessage,
    resource,
    scope,
  };
}

function readLink(r: Reader): OtlpLink {
  let traceId = '';
  let spanId = '';
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'link trace_id');
      traceId = hex(r.bytes());
    } else if (field === 2) {
      expectWire(wire, LEN, 'link span_id');
      spanId = hex(r.bytes());
    } else r.skip(wire);
  }
  return { traceId, spanId };
}

function readKeyValue(r: Reader, into: OtlpAttributes, depth: number): void {
  let key = '';
  let value: OtlpValue = null;
  while (r.more()) {
    const [field, wire] = r.tag();
    if (field === 1) {
      expectWire(wire, LEN, 'attribute key');
      key = r.string();
    } else if (field === 2) {
      expectWire(wire, LEN, 'attribute value');
      value = readAnyValue(r.sub(), depth);
    } else r.skip(wire);
  }
  // "__proto__" as a key of a plain object would set its prototype: keep it as data.
  if (key === '__proto__') Object.defineProperty(into, key, { value, enumerable: true });
  else into[key] = value;
}

function readAnyValue(r: Reader, depth: number): OtlpValue {
  if (depth >= MAX_VALUE_DEPTH) malformed('attribute values nest too deep');
  let value: OtlpValue = null;
  while (r.more()) {
    const [field, wire] = r.tag();
    switch (field) {
      case 1:
        expectWire(wire, LEN, 'string_value');
        value = r.string();
        break;
      case 2:
        expectWire(wire, VARINT, 'bool_value');
        value = r.varint64() !== 0n;
        break;
      case 3: {
        expectWire(wire, VARINT, 'int_value');
        const n = r.varint64();
        value =
          n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER)
            ? Number(n)
            : n.toString();
        break;
      }
      case 4:
        expectWire(wire, FIXED64, 'double_value');
        value = r.double();
        break;
      case 5: {
        expectWire(wire, LEN, 'array_value');
        const a = r.sub();
        const items: OtlpValue[] = [];
        while (a.more()) {
          const [f, w] = a.tag();
          if (f === 1) {
            expectWire(w, LEN, 'array item');
            items.push(readAnyValue(a.sub(), depth + 1));
          } else a.skip(w);
        }
        value = items;
        break;
      }
      case 6: {
        expectWire(wire, LEN, 'kvlist_value');
        const l = r.sub();
        const obj: OtlpAttributes = {};
        while (l.more()) {
          const [f, w] = l.tag();
          if (f === 1) {
            expectWire(w, LEN, 'kvlist item');
            readKeyValue(l.sub(), obj, depth + 1);
          } else l.skip(w);
        }
        value = obj;
        break;
      }
      case 7:
        expectWire(wire, LEN, 'bytes_value');
        value = Buffer.from(r.bytes()).toString('base64');
        break;
      default:
        r.skip(wire);
    }
  }
  return value;
}

// --- answers ---------------------------------------------------------------------------------

class Writer {
  private readonly parts: number[] = [];

  varint(n: number): this {
    let v = n;
    while (v >= 0x80) {
      this.parts.push((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.parts.push(v);
    return this;
  }

  tag(field: number, wire: number): this {
    return this.varint(field * 8 + wire);
  }

  bytes(field: number, data: Uint8Array): this {
    this.tag(field, LEN).varint(data.length);
    for (const b of data) this.parts.push(b);
    return this;
  }

  string(field: number, s: string): this {
    return this.bytes(field, Buffer.from(s, 'utf8'));
  }

  finish(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/**
 * `ExportTraceServiceResponse`: empty when every span was accepted, else `partial_success`
 * (`rejected_spans` int64, `error_message` string).
 */
export function encodeTraceResponse(
  partial: { rejectedSpans: number; errorMessage: string } | null,
): Uint8Array {
  if (partial === null) return new Uint8Array(0);
  const inner = new Writer();
  if (partial.rejectedSpans > 0) inner.tag(1, VARINT).varint(partial.rejectedSpans);
  if (partial.errorMessage !== '') inner.string(2, partial.errorMessage);
  return new Writer().bytes(1, inner.finish()).finish();
}

/** The `@type` of the `google.rpc.ErrorInfo` detail that names the Provenant error code. */
export const ERROR_INFO_TYPE = 'type.googleapis.com/google.rpc.ErrorInfo';
export const ERROR_DOMAIN = 'provenant.dev';

/**
 * `google.rpc.Status` (`code` int32, `message` string, `details` repeated Any) with one
 * `google.rpc.ErrorInfo` detail (`reason` = the Provenant error code, `domain`).
 */
export function encodeStatus(code: number, message: string, reason: string): Uint8Array {
  const info = new Writer().string(1, reason).string(2, ERROR_DOMAIN).finish();
  const any = new Writer().string(1, ERROR_INFO_TYPE).bytes(2, info).finish();
  const w = new Writer();
  if (code !== 0) w.tag(1, VARINT).varint(code);
  w.string(2, message);
  w.bytes(3, any);
  return w.finish();
}
