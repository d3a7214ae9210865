/**
 * RFC 8785 JSON Canonicalization Scheme (JCS): the one byte sequence a JSON value hashes and
 * signs as, whatever its key order or whitespace on the wire.
 *
 * RFC 8785 defines its primitives by ECMAScript's own serialization, so this leans on the engine:
 * numbers are `Number.prototype.toString` (which already turns -0 into "0"), and well-formed
 * strings are exactly what `JSON.stringify` writes (§3.2.2.2: the two-character escapes
 * \b \t \n \f \r \" \\, `\u00xx` in lowercase hex for the other controls, everything else
 * literal). What the engine would do differently — escape lone surrogates instead of refusing
 * them, drop `undefined`, stringify Dates — is refused here before it can reach the output.
 */
import { ProvenantError } from '../errors.js';
import { formatJsonPath, type JsonPathSegment } from '../lib/json-path.js';
import { hasLoneSurrogate } from '../lib/unicode.js';

/** Why a value has no canonical form. */
export type CanonicalizationFailure =
  | 'non_finite_number'
  | 'unsupported_type'
  | 'lone_surrogate'
  | 'non_plain_object'
  | 'cycle'
  | 'too_deep';

/** Thrown by `canonicalize` with code `not_canonicalizable`. */
export class CanonicalizationError extends ProvenantError {
  readonly reason: CanonicalizationFailure;
  /** Where the offending value sits, e.g. `action.args.list[2]`; `''` for the value itself. */
  readonly path: string;

  constructor(reason: CanonicalizationFailure, path: string, problem: string) {
    const where = path === '' ? 'the value' : path;
    super('not_canonicalizable', `Cannot canonicalize ${where}: ${problem}.`, { reason, path });
    this.reason = reason;
    this.path = path;
  }
}

/**
 * Containers nested deeper than this are refused rather than recursed into, so hostile input
 * gets a `too_deep` error instead of a stack overflow. Far above anything a record holds.
 */
const MAX_DEPTH = 1000;

// Characters that make a string need more than surrounding quotes: the quote, the backslash,
// controls, and surrogates (which may be unpaired). Most strings have none of them.
// eslint-disable-next-line no-control-regex -- control characters are exactly what must be escaped
const NEEDS_ESCAPING = /["\\\u0000-\u001f\ud800-\udfff]/;

// Below this many keys a hand-written insertion sort beats `Array.prototype.sort` (measured
// ~15% of the whole canonicalization of a typical record); above it, insertion sort's O(n²)
// would lose. Both compare strings by UTF-16 code units, as RFC 8785 §3.2.3 requires.
const INSERTION_SORT_MAX = 32;

/** Internal failure, carrying the path outward as the recursion unwinds (innermost first). */
class Failure {
  readonly reversedPath: JsonPathSegment[] = [];
  constructor(
    readonly reason: CanonicalizationFailure,
    readonly problem: string,
  ) {}
}

/**
 * The RFC 8785 canonical JSON text of `value`. Accepts exactly the JSON data model: `null`,
 * booleans, finite numbers, well-formed strings, arrays, and plain objects (prototype
 * `Object.prototype` or `null`; own enumerable string keys). Anything else throws a
 * `CanonicalizationError` (code `not_canonicalizable`) naming where it is.
 */
export function canonicalize(value: unknown): string {
  const fast = canonicalByStringify(value);
  if (fast !== null) return fast;
  try {
    return serialize(value, []);
  } catch (e) {
    if (!(e instanceof Failure)) throw e;
    const path = formatJsonPath(e.reversedPath.reverse());
    throw new CanonicalizationError(e.reason, path, e.problem);
  }
}

/** Thrown inside `sortedCopy` to hand a value to the full serializer (never escapes). */
const SLOW_PATH = Symbol('slow path');

// Past this depth the fast path gives up and `serialize` (cycle and depth checks) takes over.
const FAST_MAX_DEPTH = 64;

// A key V8 would order as an array index ahead of the others, whatever its insertion order:
// JSON.stringify would then not follow the sorted order (conservatively every canonical decimal).
const INDEX_LIKE_KEY = /^(?:0|[1-9][0-9]*)$/;

/**
 * The canonical text by the engine's own serializer, or null where it would differ from
 * `serialize` (which then also produces the error): a copy with every object's keys inserted in
 * RFC 8785 order, given to `JSON.stringify`. For exactly the values this copy takes (finite
 * numbers, well-formed strings and keys, plain objects without index-like or `__proto__` keys,
 * dense arrays) `JSON.stringify` writes what `serialize` does (see the header), in one flat
 * string built natively: measured about as fast as `serialize` with its hashing, and a flat
 * string costs the writer thread's postMessage ~0.5 µs a record where `serialize`'s string of
 * ~200 concatenations costs ~7 µs (bench notes in docs/BENCHMARKS.md, issue 18).
 */
function canonicalByStringify(value: unknown): string | null {
  // A toJSON that someone put on a prototype would be called by JSON.stringify.
  if (Object.hasOwn(Object.prototype, 'toJSON') || Object.hasOwn(Array.prototype, 'toJSON')) {
    return null;
  }
  try {
    return JSON.stringify(sortedCopy(value, 0));
  } catch (e) {
    if (e === SLOW_PATH) return null;
    throw e;
  }
}

function sortedCopy(value: unknown, depth: number): unknown {
  switch (typeof value) {
    case 'string':
      if (hasLoneSurrogate(value)) throw SLOW_PATH;
      return value;
    case 'number':
      if (!Number.isFinite(value)) throw SLOW_PATH;
      return value;
    case 'boolean':
      return value;
    case 'object': {
      if (value === null) return null;
      if (depth >= FAST_MAX_DEPTH) throw SLOW_PATH;
      if (Array.isArray(value)) {
        const n = value.length;
        const out = new Array<unknown>(n);
        for (let i = 0; i < n; i++) {
          if (!(i in value)) throw SLOW_PATH; // a hole: refused by `serialize`
          out[i] = sortedCopy(value[i], depth + 1);
        }
        return out;
      }
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) throw SLOW_PATH;
      const keys = sortKeys(Object.keys(value));
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        const c = key.charCodeAt(0);
        if (
          (c >= 0x30 && c <= 0x39 && INDEX_LIKE_KEY.test(key)) ||
          key === '__proto__' ||
          hasLoneSurrogate(key)
        ) {
          throw SLOW_PATH;
        }
        out[key] = sortedCopy(record[key], depth + 1);
      }
      return out;
    }
    default:
      throw SLOW_PATH;
  }
}

const encoder = new TextEncoder();

/** The UTF-8 bytes of `canonicalize(value)`: what gets hashed and signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return encoder.encode(canonicalize(value));
}

function serialize(value: unknown, ancestors: object[]): string {
  switch (typeof value) {
    case 'string':
      return quote(value, 'the string');
    case 'number':
      if (!Number.isFinite(value)) {
        throw new Failure('non_finite_number', `${String(value)} is not a finite number`);
      }
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (ancestors.includes(value)) throw new Failure('cycle', 'it contains itself (a cycle)');
      if (ancestors.length >= MAX_DEPTH) {
        throw new Failure('too_deep', `it is nested more than ${MAX_DEPTH} levels deep`);
      }
      ancestors.push(value);
      try {
        return Array.isArray(value)
          ? serializeArray(value, ancestors)
          : serializeObject(value, ancestors);
      } finally {
        ancestors.pop();
      }
    default:
      // undefined, function, symbol, bigint: no JSON representation.
      throw new Failure('unsupported_type', `a ${typeof value} is not JSON`);
  }
}

function serializeArray(array: readonly unknown[], ancestors: object[]): string {
  let out = '[';
  let i = 0;
  try {
    for (; i < array.length; i++) {
      if (i > 0) out += ',';
      // A hole in a sparse array reads as undefined and is refused like any undefined.
      out += serialize(array[i], ancestors);
    }
  } catch (e) {
    if (e instanceof Failure) e.reversedPath.push(i);
    throw e;
  }
  return out + ']';
}

function serializeObject(object: object, ancestors: object[]): string {
  const prototype: unknown = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    const name = (object.constructor as { name?: unknown } | undefined)?.name;
    const kind = typeof name === 'string' && name !== '' ? `a ${name}` : 'a non-plain object';
    throw new Failure('non_plain_object', `${kind} is not a plain JSON object`);
  }
  const keys = sortKeys(Object.keys(object));
  const record = object as Record<string, unknown>;
  let out = '{';
  let key = '';
  try {
    for (let i = 0; i < keys.length; i++) {
      key = keys[i]!;
      if (i > 0) out += ',';
      out += quote(key, 'its key');
      out += ':';
      out += serialize(record[key], ancestors);
    }
  } catch (e) {
    if (e instanceof Failure) e.reversedPath.push(key);
    throw e;
  }
  return out + '}';
}

function quote(s: string, what: string): string {
  if (!NEEDS_ESCAPING.test(s)) return '"' + s + '"';
  if (hasLoneSurrogate(s)) {
    throw new Failure('lone_surrogate', `${what} holds an unpaired UTF-16 surrogate`);
  }
  // For well-formed strings JSON.stringify's escaping is exactly RFC 8785 §3.2.2.2.
  return JSON.stringify(s);
}

function sortKeys(keys: string[]): string[] {
  if (keys.length > INSERTION_SORT_MAX) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i]!;
    let j = i - 1;
    // `>` on strings compares UTF-16 code units, the order RFC 8785 §3.2.3 specifies.
    while (j >= 0 && keys[j]! > key) {
      keys[j + 1] = keys[j]!;
      j--;
    }
    keys[j + 1] = key;
  }
  return keys;
}
