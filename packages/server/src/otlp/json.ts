/**
 * OTLP/JSON (the protobuf JSON mapping with OTLP's deviations): lowerCamelCase keys, trace and
 * span ids as hex strings, enums as integers, 64-bit integers as decimal strings or numbers.
 * Unknown fields are ignored, as the specification requires; a known field of the wrong type is
 * `malformed_otlp`, a body that is not JSON `malformed_json`.
 */
import { MAX_SPANS_PER_REQUEST, MAX_VALUE_DEPTH, OtlpDecodeError, tooManySpans } from './model.js';
import type { OtlpAttributes, OtlpLink, OtlpSpan, OtlpValue } from './model.js';

type Obj = Record<string, unknown>;

function bad(path: string, expected: string): never {
  throw new OtlpDecodeError('malformed_otlp', `${path} must be ${expected}.`);
}

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function obj(v: unknown, path: string): Obj | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) bad(path, 'an object');
  return v;
}

function arr(v: unknown, path: string): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) bad(path, 'an array');
  return v;
}

function str(v: unknown, path: string): string {
  if (v === undefined || v === null) return '';
  if (typeof v !== 'string') bad(path, 'a string');
  return v;
}

/** A trace or span id: hex as OTLP/JSON specifies (lowercased; validity checked by the mapping). */
function id(v: unknown, path: string): string {
  const s = str(v, path);
  if (!/^[0-9a-fA-F]*$/.test(s)) bad(path, 'a hex string');
  return s.toLowerCase();
}

function int(v: unknown, path: string): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && /^-?[0-9]{1,19}$/.test(v)) return Number(v);
  return bad(path, 'an integer');
}

function uint64(v: unknown, path: string): bigint {
  if (v === undefined || v === null) return 0n;
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === 'string' && /^[0-9]{1,20}$/.test(v)) {
    const n = BigInt(v);
    if (n < 2n ** 64n) return n;
  }
  return bad(path, 'an unsigned 64-bit integer (a decimal string or number)');
}

/** Parses and decodes an OTLP/JSON `ExportTraceServiceRequest`. */
export function decodeTraceRequestJson(text: string): OtlpSpan[] {
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch (e) {
    throw new OtlpDecodeError(
      'malformed_json',
      `The body is not valid JSON: ${(e as Error).message}.`,
    );
  }
  if (!isObj(root)) bad('The body', 'an ExportTraceServiceRequest object');
  const spans: OtlpSpan[] = [];
  arr(root['resourceSpans'], 'resourceSpans').forEach((rsv, i) => {
    const rp = `resourceSpans[${i}]`;
    const rs = obj(rsv, rp) ?? {};
    const res = obj(rs['resource'], `${rp}.resource`);
    const resource = attributes(res?.['attributes'], `${rp}.resource.attributes`);
    arr(rs['scopeSpans'], `${rp}.scopeSpans`).forEach((ssv, j) => {
      const sp = `${rp}.scopeSpans[${j}]`;
      const ss = obj(ssv, sp) ?? {};
      const sc = obj(ss['scope'], `${sp}.scope`);
      const scope = {
        name: str(sc?.['name'], `${sp}.scope.name`),
        version: str(sc?.['version'], `${sp}.scope.version`),
      };
      arr(ss['spans'], `${sp}.spans`).forEach((sv, k) => {
        if (spans.length >= MAX_SPANS_PER_REQUEST) tooManySpans();
        spans.push(span(obj(sv, `${sp}.spans[${k}]`) ?? {}, `${sp}.spans[${k}]`, resource, scope));
      });
    });
  });
  return spans;
}

function span(
  s: Obj,
  path: string,
  resource: OtlpAttributes,
  scope: { name: string; version: string },
): OtlpSpan {
  const status = obj(s['status'], `${path}.status`);
  const links: OtlpLink[] = arr(s['links'], `${path}.links`).map((lv, i) => {
    const l = obj(lv, `${path}.links[${i}]`) ?? {};
    return {
      traceId: id(l['traceId'], `${path}.links[${i}].traceId`),
      spanId: id(l['spanId'], `${path}.links[${i}].spanId`),
    };
  });
  return {
    traceId: id(s['traceId'], `${path}.traceId`),
    spanId: id(s['spanId'], `${path}.spanId`),
    parentSpanId: id(s['parentSpanId'], `${path}.parentSpanId`),
    name: str(s['name'], `${path}.name`),
    kind: int(s['kind'], `${path}.kind`),
    startTimeUnixNano: uint64(s['startTimeUnixNano'], `${path}.startTimeUnixNano`),
    endTimeUnixNano: uint64(s['endTimeUnixNano'], `${path}.endTimeUnixNano`),
    attributes: attributes(s['attributes'], `${path}.attributes`),
    links,
    statusCode: int(status?.['code'], `${path}.status.code`),
    statusMessage: str(status?.['message'], `${path}.status.message`),
    resource,
    scope,
  };
}

function attributes(v: unknown, path: string, depth = 0): OtlpAttributes {
  const out: OtlpAttributes = {};
  arr(v, path).forEach((kvv, i) => {
    const kv = obj(kvv, `${path}[${i}]`) ?? {};
    const key = str(kv['key'], `${path}[${i}].key`);
    const value = anyValue(kv['value'], `${path}[${i}].value`, depth);
    if (key === '__proto__') Object.defineProperty(out, key, { value, enumerable: true });
    else out[key] = value;
  });
  return out;
}

function anyValue(v: unknown, path: string, depth: number): OtlpValue {
  if (depth >= MAX_VALUE_DEPTH) bad(path, `nested at most ${MAX_VALUE_DEPTH} deep`);
  const o = obj(v, path);
  if (o === undefined) return null;
  if ('stringValue' in o) return str(o['stringValue'], `${path}.stringValue`);
  if ('boolValue' in o) {
    if (typeof o['boolValue'] !== 'boolean') bad(`${path}.boolValue`, 'a boolean');
    return o['boolValue'];
  }
  if ('intValue' in o) {
    const iv = o['intValue'];
    if (typeof iv === 'number' && Number.isInteger(iv)) return iv;
    if (typeof iv === 'string' && /^-?[0-9]{1,19}$/.test(iv)) {
      const n = Number(iv);
      return Number.isSafeInteger(n) ? n : iv;
    }
    return bad(`${path}.intValue`, 'an integer');
  }
  if ('doubleValue' in o) {
    const dv = o['doubleValue'];
    if (typeof dv === 'number') return dv;
    if (dv === 'NaN' || dv === 'Infinity' || dv === '-Infinity') return Number(dv);
    if (typeof dv === 'string' && dv.trim() !== '' && Number.isFinite(Number(dv)))
      return Number(dv);
    return bad(`${path}.doubleValue`, 'a number');
  }
  if ('arrayValue' in o) {
    const a = obj(o['arrayValue'], `${path}.arrayValue`);
    return arr(a?.['values'], `${path}.arrayValue.values`).map((x, i) =>
      anyValue(x, `${path}.arrayValue.values[${i}]`, depth + 1),
    );
  }
  if ('kvlistValue' in o) {
    const l = obj(o['kvlistValue'], `${path}.kvlistValue`);
    return attributes(l?.['values'], `${path}.kvlistValue.values`, depth + 1);
  }
  if ('bytesValue' in o) {
    const b = str(o['bytesValue'], `${path}.bytesValue`);
    if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(b)) bad(`${path}.bytesValue`, 'base64');
    return b;
  }
  return null;
}
