/**
 * Paths into a record's `action.args`, for the values an audit rule redacts: keys joined by dots,
 * `[*]` for every item of an array, `[2]` for one item, `*` for every key of an object, and
 * `["a.b"]` (a JSON string in brackets) for a key with dots, brackets or a leading `*`.
 * Examples: `token`, `headers.authorization`, `items[*].secret`, `headers.*`.
 */
import type { JsonValue } from '@provenant/core';

export type PathStep =
  | { kind: 'key'; key: string }
  | { kind: 'any_key' }
  | { kind: 'index'; index: number }
  | { kind: 'any_index' };

/** The steps of `path`, or a sentence saying what is wrong with it. */
export function parseArgsPath(path: string): PathStep[] | string {
  if (path === '') return 'is empty';
  const steps: PathStep[] = [];
  let i = 0;
  let expectKey = true; // at the start, and after a dot
  while (i < path.length) {
    const ch = path[i]!;
    if (ch === '[') {
      const close = bracketEnd(path, i);
      if (close === -1) return `has an unclosed "[" at character ${i + 1}`;
      const inner = path.slice(i + 1, close);
      if (inner === '*') steps.push({ kind: 'any_index' });
      else if (/^(0|[1-9][0-9]{0,8})$/.test(inner))
        steps.push({ kind: 'index', index: Number(inner) });
      else if (inner.startsWith('"')) {
        let key: unknown;
        try {
          key = JSON.parse(inner);
        } catch {
          key = undefined;
        }
        if (typeof key !== 'string')
          return `has a bracketed key that is not a JSON string: [${inner}]`;
        steps.push({ kind: 'key', key });
      } else return `has "[${inner}]"; brackets hold *, an index or a JSON string`;
      i = close + 1;
      expectKey = false;
    } else if (ch === '.') {
      if (expectKey) return `has an empty key at character ${i + 1}`;
      expectKey = true;
      i += 1;
      if (i === path.length) return 'ends with a dot';
    } else {
      if (!expectKey) return `needs a dot before the key at character ${i + 1}`;
      let end = i;
      while (end < path.length && path[end] !== '.' && path[end] !== '[') end += 1;
      const key = path.slice(i, end);
      if (key.includes(']')) return `has a "]" with no "[" in "${key}"`;
      steps.push(key === '*' ? { kind: 'any_key' } : { kind: 'key', key });
      i = end;
      expectKey = false;
    }
  }
  return steps;
}

// The "]" closing the bracket that opens at `open`, skipping over a JSON string inside it.
function bracketEnd(path: string, open: number): number {
  let i = open + 1;
  if (path[i] === '"') {
    i += 1;
    while (i < path.length && path[i] !== '"') i += path[i] === '\\' ? 2 : 1;
    i += 1;
  }
  return path.indexOf(']', i);
}

type Location = (string | number)[];

/** Every place in `value` that `steps` reaches, as concrete keys and indexes, in document order. */
export function resolveArgsPath(value: JsonValue, steps: readonly PathStep[]): Location[] {
  const out: Location[] = [];
  const walk = (node: JsonValue, i: number, at: Location): void => {
    if (i === steps.length) {
      out.push(at);
      return;
    }
    const step = steps[i]!;
    if (Array.isArray(node)) {
      if (step.kind === 'any_index') node.forEach((item, k) => walk(item, i + 1, [...at, k]));
      else if (step.kind === 'index' && step.index < node.length) {
        walk(node[step.index]!, i + 1, [...at, step.index]);
      }
    } else if (typeof node === 'object' && node !== null) {
      if (step.kind === 'any_key') {
        for (const key of Object.keys(node)) walk(node[key]!, i + 1, [...at, key]);
      } else if (step.kind === 'key' && Object.hasOwn(node, step.key)) {
        walk(node[step.key]!, i + 1, [...at, step.key]);
      }
    }
  };
  walk(value, 0, []);
  return out;
}

/** The value at a location `resolveArgsPath` found. */
export function valueAt(value: JsonValue, at: Location): JsonValue {
  let node = value;
  for (const step of at) node = (node as Record<string | number, JsonValue>)[step]!;
  return node;
}

/** Replaces the value at `at` (never the root) inside `value`, which is the caller's own copy. */
export function replaceAt(value: JsonValue, at: Location, replacement: JsonValue): void {
  const parent = valueAt(value, at.slice(0, -1)) as Record<string | number, JsonValue>;
  const last = at[at.length - 1]!;
  // defineProperty, not assignment: a key named "__proto__" must stay a plain key.
  Object.defineProperty(parent, last, {
    value: replacement,
    writable: true,
    enumerable: true,
    configurable: true,
  });
}
