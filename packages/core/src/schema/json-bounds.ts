/**
 * A bounded walk over untrusted JSON, to run before anything recursive (a schema, the
 * canonicalizer) sees it: nesting and fan-out are checked on the way down, so a hostile value
 * is refused after touching at most `maxDepth` stack frames.
 */
import { formatJsonPath, type JsonPathSegment } from '../lib/json-path.js';
import { hasLoneSurrogate } from '../lib/unicode.js';

export interface JsonBounds {
  /** Most containers (arrays, objects) on any path from the root, the root included. 1..1024. */
  maxDepth: number;
  /** Most items in any one array. */
  maxArray: number;
  /** Most keys in any one object. */
  maxKeys: number;
}

/**
 * - `too_deep`: containers nested more than `maxDepth` levels;
 * - `too_large`: an array or object over `maxArray` / `maxKeys`;
 * - `not_json`: a value outside I-JSON (RFC 7493): not null, boolean, finite number,
 *   well-formed string, array or plain object;
 * - `forbidden_key`: a `__proto__` key, which JavaScript consumers would turn into a prototype
 *   change the moment they copy the object.
 */
export type JsonBoundsViolation = 'too_deep' | 'too_large' | 'not_json' | 'forbidden_key';

export type JsonBoundsResult =
  | { ok: true }
  | {
      ok: false;
      code: JsonBoundsViolation;
      /** Where the violation is, e.g. `a.b[3]`; `''` for the value itself. */
      path: string;
      /** One sentence naming the path and the limit. */
      message: string;
    };

const MAX_SUPPORTED_DEPTH = 1024;

/**
 * Checks `value` is JSON data within `bounds`; see `JsonBoundsViolation` for what fails.
 *
 * @param at Where `value` sits in a larger document (e.g. `action.args`), prefixed to the
 *   reported path so the message can name the full location.
 */
export function checkJsonBounds(value: unknown, bounds: JsonBounds, at = ''): JsonBoundsResult {
  const { maxDepth } = bounds;
  if (!Number.isInteger(maxDepth) || maxDepth < 1 || maxDepth > MAX_SUPPORTED_DEPTH) {
    // The walk recurses once per level, so the limit is what keeps it off the stack's edge.
    throw new RangeError(
      `checkJsonBounds: maxDepth must be an integer in [1, ${MAX_SUPPORTED_DEPTH}]`,
    );
  }
  const violation = walk(value, bounds, 1);
  if (violation === undefined) return { ok: true };
  const inner = formatJsonPath(violation.reversedPath.reverse());
  const path = at === '' || inner === '' || inner.startsWith('[') ? at + inner : `${at}.${inner}`;
  const subject = path === '' ? 'The value' : path;
  return { ok: false, code: violation.code, path, message: `${subject} ${violation.problem}.` };
}

interface Violation {
  code: JsonBoundsViolation;
  problem: string;
  reversedPath: JsonPathSegment[];
}

const violation = (code: JsonBoundsViolation, problem: string): Violation => ({
  code,
  problem,
  reversedPath: [],
});

/** Returns undefined when `value` (at nesting level `depth` if it is a container) is fine. */
function walk(value: unknown, bounds: JsonBounds, depth: number): Violation | undefined {
  switch (typeof value) {
    case 'string':
      return hasLoneSurrogate(value)
        ? violation('not_json', 'is a string with an unpaired UTF-16 surrogate')
        : undefined;
    case 'number':
      return Number.isFinite(value)
        ? undefined
        : violation('not_json', `is ${value}, not a finite number`);
    case 'boolean':
      return undefined;
    case 'object': {
      if (value === null) return undefined;
      if (depth > bounds.maxDepth) {
        return violation('too_deep', `is nested deeper than ${bounds.maxDepth} levels`);
      }
      if (Array.isArray(value)) return walkArray(value, bounds, depth);
      const prototype: unknown = Object.getPrototypeOf(value);
      if (prototype !== Object.prototype && prototype !== null) {
        return violation('not_json', 'is not a plain object');
      }
      return walkObject(value as Record<string, unknown>, bounds, depth);
    }
    default:
      return violation(
        'not_json',
        `is ${typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`}, not JSON`,
      );
  }
}

function walkArray(
  array: readonly unknown[],
  bounds: JsonBounds,
  depth: number,
): Violation | undefined {
  if (array.length > bounds.maxArray) {
    return violation(
      'too_large',
      `has ${array.length} items, more than the limit of ${bounds.maxArray}`,
    );
  }
  for (let i = 0; i < array.length; i++) {
    const found = walk(array[i], bounds, depth + 1);
    if (found !== undefined) {
      found.reversedPath.push(i);
      return found;
    }
  }
  return undefined;
}

function walkObject(
  object: Record<string, unknown>,
  bounds: JsonBounds,
  depth: number,
): Violation | undefined {
  const keys = Object.keys(object);
  if (keys.length > bounds.maxKeys) {
    return violation(
      'too_large',
      `has ${keys.length} keys, more than the limit of ${bounds.maxKeys}`,
    );
  }
  for (const key of keys) {
    // Key problems belong to this object, so their path stops here rather than at the key.
    if (key === '__proto__')
      return violation('forbidden_key', 'uses the forbidden key "__proto__"');
    if (hasLoneSurrogate(key)) {
      return violation('not_json', 'has a key with an unpaired UTF-16 surrogate');
    }
    const found = walk(object[key], bounds, depth + 1);
    if (found !== undefined) {
      found.reversedPath.push(key);
      return found;
    }
  }
  return undefined;
}
