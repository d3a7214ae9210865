import { describe, expect, it } from 'vitest';
import { checkJsonBounds, type JsonBounds } from '../src/schema/json-bounds.js';

const bounds: JsonBounds = { maxDepth: 3, maxArray: 4, maxKeys: 2 };

/** `levels` containers nested in one another, alternating objects and arrays. */
function nested(levels: number): unknown {
  let value: unknown = 'leaf';
  for (let i = 0; i < levels; i++) value = i % 2 === 0 ? [value] : { k: value };
  return value;
}

describe('checkJsonBounds', () => {
  it('accepts JSON data within every limit', () => {
    expect(checkJsonBounds({ a: [1, 2.5, -0, 'x'], b: { c: null } }, bounds)).toEqual({ ok: true });
    expect(checkJsonBounds('scalar', bounds)).toEqual({ ok: true });
    expect(checkJsonBounds(Object.create(null), bounds)).toEqual({ ok: true });
  });

  it('counts the root as the first level and allows exactly maxDepth', () => {
    expect(checkJsonBounds(nested(3), bounds)).toEqual({ ok: true });
    expect(checkJsonBounds(nested(4), bounds)).toEqual({
      ok: false,
      code: 'too_deep',
      path: 'k[0].k',
      message: 'k[0].k is nested deeper than 3 levels.',
    });
  });

  it('refuses a 100,000-level structure without recursing into it', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    const result = checkJsonBounds(deep, { maxDepth: 16, maxArray: 10, maxKeys: 10 });
    expect(result.ok === false && result.code).toBe('too_deep');
  });

  it('refuses an array longer than maxArray, and allows exactly maxArray', () => {
    expect(checkJsonBounds([1, 2, 3, 4], bounds).ok).toBe(true);
    expect(checkJsonBounds({ list: [1, 2, 3, 4, 5] }, bounds)).toEqual({
      ok: false,
      code: 'too_large',
      path: 'list',
      message: 'list has 5 items, more than the limit of 4.',
    });
  });

  it('refuses an object with more than maxKeys keys, and allows exactly maxKeys', () => {
    expect(checkJsonBounds({ a: 1, b: 2 }, bounds).ok).toBe(true);
    expect(checkJsonBounds([{ a: 1, b: 2, c: 3 }], bounds)).toEqual({
      ok: false,
      code: 'too_large',
      path: '[0]',
      message: '[0] has 3 keys, more than the limit of 2.',
    });
  });

  it.each<[string, unknown, string]>([
    ['undefined', { a: undefined }, 'a'],
    ['NaN', [Number.NaN], '[0]'],
    ['Infinity', { a: Infinity }, 'a'],
    ['a function', { f: () => 0 }, 'f'],
    ['a bigint', [1n], '[0]'],
    ['a Date', { d: new Date(0) }, 'd'],
    ['a Map', new Map(), ''],
    ['a lone surrogate in a string', { s: '\ud800' }, 's'],
    ['a lone surrogate in a key', { o: { '\udc00': 1 } }, 'o'],
  ])('reports %s as not_json', (_name, value, path) => {
    const result = checkJsonBounds(value, bounds);
    expect(result.ok === false && [result.code, result.path]).toEqual(['not_json', path]);
  });

  it('reports a "__proto__" key as forbidden_key on the object holding it', () => {
    expect(checkJsonBounds(JSON.parse('{"a":{"__proto__":{"x":1}}}'), bounds)).toEqual({
      ok: false,
      code: 'forbidden_key',
      path: 'a',
      message: 'a uses the forbidden key "__proto__".',
    });
  });

  it('accepts well-formed surrogate pairs', () => {
    expect(checkJsonBounds({ '😀': '😀' }, bounds).ok).toBe(true);
  });

  it('prefixes paths with the location given', () => {
    const result = checkJsonBounds({ x: [1, 2, 3, 4, 5] }, bounds, 'action.args');
    expect(result.ok === false && [result.path, result.message]).toEqual([
      'action.args.x',
      'action.args.x has 5 items, more than the limit of 4.',
    ]);
    const root = checkJsonBounds([Number.NaN], bounds, 'action.args');
    expect(root.ok === false && root.path).toBe('action.args[0]');
    const self = checkJsonBounds(new Date(0), bounds, 'action.args');
    expect(self.ok === false && self.message).toBe('action.args is not a plain object.');
  });

  it('names the value itself when the root is the problem', () => {
    const result = checkJsonBounds(undefined, bounds);
    expect(result.ok === false && result.message).toBe('The value is undefined, not JSON.');
  });

  it.each([0, 1025, 2.5])('refuses maxDepth %s as a caller mistake', (maxDepth) => {
    expect(() => checkJsonBounds({}, { ...bounds, maxDepth })).toThrow(RangeError);
  });
});
