import { describe, expect, it } from 'vitest';
import { CanonicalizationError, canonicalBytes, canonicalize } from '../src/canonical/jcs.js';
import { isProvenantError } from '../src/errors.js';

/** The double whose IEEE 754 bit pattern is `hex`, as RFC 8785 Appendix B lists them. */
function fromIeeeHex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

function failureOf(value: unknown): CanonicalizationError {
  try {
    canonicalize(value);
  } catch (e) {
    if (e instanceof CanonicalizationError) return e;
    throw e;
  }
  throw new Error('canonicalize did not throw');
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

describe('RFC 8785 examples', () => {
  // RFC 8785 Appendix B: IEEE 754 bit patterns and their required serialization.
  const appendixB: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];

  it.each(appendixB)('serializes the double with bits %s as %s (Appendix B)', (bits, expected) => {
    expect(canonicalize(fromIeeeHex(bits))).toBe(expected);
  });

  it.each(['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000'])(
    'refuses the Appendix B non-finite double with bits %s',
    (bits) => {
      expect(failureOf(fromIeeeHex(bits)).reason).toBe('non_finite_number');
    },
  );

  it.each([
    ['1e21', '1e+21'],
    ['1E21', '1e+21'],
    ['1e+21', '1e+21'],
    ['1e20', '100000000000000000000'],
    ['4.50', '4.5'],
    ['2e-3', '0.002'],
    ['0.002', '0.002'],
    ['0.000001', '0.000001'],
    ['1e-7', '1e-7'],
    ['0.0000001', '1e-7'],
    ['-0', '0'],
    ['-0.0', '0'],
    ['9007199254740992', '9007199254740992'],
    ['295147905179352830000', '295147905179352830000'],
    ['1E30', '1e+30'],
    ['0.000000000000000000000000001', '1e-27'],
    ['333333333.33333329', '333333333.3333333'],
  ])('writes the JSON number %s as %s', (text, expected) => {
    expect(canonicalize(JSON.parse(text))).toBe(expected);
  });

  // RFC 8785 §3.2.2 (the combined example) and §3.2.4 (its UTF-8 bytes).
  const example = String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`;

  it('reproduces the §3.2.2 example output', () => {
    expect(canonicalize(JSON.parse(example))).toBe(
      String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`,
    );
  });

  it('reproduces the §3.2.4 UTF-8 bytes of that example', () => {
    const rfcBytes = [
      '7b 22 6c 69 74 65 72 61 6c 73 22 3a 5b 6e 75 6c 6c 2c 74 72',
      '75 65 2c 66 61 6c 73 65 5d 2c 22 6e 75 6d 62 65 72 73 22 3a',
      '5b 33 33 33 33 33 33 33 33 33 2e 33 33 33 33 33 33 33 2c 31',
      '65 2b 33 30 2c 34 2e 35 2c 30 2e 30 30 32 2c 31 65 2d 32 37',
      '5d 2c 22 73 74 72 69 6e 67 22 3a 22 e2 82 ac 24 5c 75 30 30',
      '30 66 5c 6e 41 27 42 5c 22 5c 5c 5c 5c 5c 22 2f 22 7d',
    ];
    expect(hex(canonicalBytes(JSON.parse(example)))).toBe(rfcBytes.join('').replaceAll(' ', ''));
  });

  it('sorts the §3.2.3 keys by UTF-16 code units', () => {
    const input = JSON.parse(String.raw`{
      "\u20ac": "Euro Sign",
      "\r": "Carriage Return",
      "\ufb33": "Hebrew Letter Dalet With Dagesh",
      "1": "One",
      "\ud83d\ude00": "Emoji: Grinning Face",
      "\u0080": "Control",
      "\u00f6": "Latin Small Letter O With Diaeresis"
    }`) as Record<string, string>;
    const out = canonicalize(input);
    const order = [...out.matchAll(/:"([^"]+)"/g)].map((m) => m[1]);
    expect(order).toEqual([
      'Carriage Return',
      'One',
      'Control',
      'Latin Small Letter O With Diaeresis',
      'Euro Sign',
      'Emoji: Grinning Face',
      'Hebrew Letter Dalet With Dagesh',
    ]);
    expect(out.startsWith('{"\\r":"Carriage Return","1":"One","\u0080":"Control"')).toBe(true);
  });
});

describe('canonicalize', () => {
  it('writes literals and strings the JSON way', () => {
    expect(canonicalize(null)).toBe('null');
    expect(canonicalize(true)).toBe('true');
    expect(canonicalize(false)).toBe('false');
    expect(canonicalize('plain')).toBe('"plain"');
    expect(canonicalize('')).toBe('""');
  });

  it('escapes only the characters §3.2.2.2 requires, with lowercase hex', () => {
    let controls = '';
    for (let c = 0; c < 0x20; c++) controls += String.fromCharCode(c);
    expect(canonicalize(controls)).toBe(
      '"\\u0000\\u0001\\u0002\\u0003\\u0004\\u0005\\u0006\\u0007\\b\\t\\n\\u000b\\f\\r\\u000e\\u000f' +
        '\\u0010\\u0011\\u0012\\u0013\\u0014\\u0015\\u0016\\u0017\\u0018\\u0019\\u001a\\u001b\\u001c\\u001d\\u001e\\u001f"',
    );
    expect(canonicalize('"\\')).toBe('"\\"\\\\"');
    // DEL, the line/paragraph separators, "/" and non-ASCII stay literal.
    expect(canonicalize('\u007f\u2028\u2029/é€😀')).toBe('"\u007f\u2028\u2029/é€😀"');
  });

  it('accepts a literal backslash followed by "ud800" as text', () => {
    expect(canonicalize('\\ud800')).toBe('"\\\\ud800"');
  });

  it('sorts keys at every level and ignores insertion order', () => {
    const a = { b: [3, { z: 1, a: 2 }], a: { y: null, x: [] }, c: {} };
    const b = { c: {}, a: { x: [], y: null }, b: [3, { a: 2, z: 1 }] };
    expect(canonicalize(a)).toBe('{"a":{"x":[],"y":null},"b":[3,{"a":2,"z":1}],"c":{}}');
    expect(canonicalize(b)).toBe(canonicalize(a));
  });

  it('sorts objects with more keys than the insertion-sort cutoff the same way', () => {
    const keys = Array.from({ length: 100 }, (_, i) => `k${(i * 37) % 100}`);
    const object = Object.fromEntries(keys.map((k) => [k, 1]));
    const sorted = [...keys].sort();
    expect(canonicalize(object)).toBe(`{${sorted.map((k) => `"${k}":1`).join(',')}}`);
  });

  it('keeps array order and nests arrays in arrays', () => {
    expect(canonicalize([3, 1, [2, [[]], { b: 1, a: [0] }]])).toBe(
      '[3,1,[2,[[]],{"a":[0],"b":1}]]',
    );
  });

  it('accepts objects with a null prototype', () => {
    const object = Object.create(null) as Record<string, unknown>;
    object['b'] = 1;
    object['a'] = 2;
    expect(canonicalize(object)).toBe('{"a":2,"b":1}');
  });

  it('writes an own "__proto__" key as an ordinary key', () => {
    expect(canonicalize(JSON.parse('{"__proto__":{"x":1},"a":0}'))).toBe(
      '{"__proto__":{"x":1},"a":0}',
    );
  });

  it('accepts a shared, non-cyclic reference twice', () => {
    const shared = { v: 1 };
    expect(canonicalize({ a: shared, b: [shared] })).toBe('{"a":{"v":1},"b":[{"v":1}]}');
  });

  it('orders index-like keys by code units, not as the engine orders array indices', () => {
    // JSON.stringify would write "9" before "10"; RFC 8785 sorts "10" < "9" < "a".
    expect(canonicalize({ a: 3, 9: 2, 10: 1 })).toBe('{"10":1,"9":2,"a":3}');
    expect(canonicalize({ b: { 0: 'x', '01': 'y', '-1': 'z' } })).toBe(
      '{"b":{"-1":"z","0":"x","01":"y"}}',
    );
    expect(canonicalize({ 4294967295: 1, 4294967294: 2, z: 0 })).toBe(
      '{"4294967294":2,"4294967295":1,"z":0}',
    );
  });

  it('escapes keys as it escapes strings and refuses a key with a lone surrogate', () => {
    expect(canonicalize({ 'a\nb': 1, '"': 2, '\u001f': 3 })).toBe(
      '{"\\u001f":3,"\\"":2,"a\\nb":1}',
    );
    expect(failureOf({ ok: { ['x\ud800']: 1 } }).reason).toBe('lone_surrogate');
  });

  it('writes -0, exponents and nested empty containers as RFC 8785 does', () => {
    expect(canonicalize({ z: -0, e: 1e21, s: 1e-7, o: {}, a: [[], {}] })).toBe(
      '{"a":[[],{}],"e":1e+21,"o":{},"s":1e-7,"z":0}',
    );
  });

  it('ignores a toJSON put on Object.prototype or Array.prototype', () => {
    const proto = Object.prototype as unknown as Record<string, unknown>;
    const arrays = Array.prototype as unknown as Record<string, unknown>;
    try {
      proto['toJSON'] = () => 'polluted';
      expect(canonicalize({ b: 1, a: [2] })).toBe('{"a":[2],"b":1}');
      delete proto['toJSON'];
      arrays['toJSON'] = () => 'polluted';
      expect(canonicalize({ b: 1, a: [2] })).toBe('{"a":[2],"b":1}');
    } finally {
      delete proto['toJSON'];
      delete arrays['toJSON'];
    }
  });

  it('writes a key named toJSON as an ordinary key', () => {
    expect(canonicalize({ toJSON: 'x', a: { toJSON: null } })).toBe(
      '{"a":{"toJSON":null},"toJSON":"x"}',
    );
  });

  it('canonicalizes nesting past the fast path depth and still finds a deep cycle', () => {
    let fine: unknown = { v: 1 };
    for (let i = 0; i < 200; i++) fine = { b: fine, a: i };
    const text = canonicalize(fine);
    expect(JSON.parse(text)).toEqual(fine);
    expect(text.startsWith('{"a":199,"b":{"a":198,')).toBe(true);
    const cyclic: Record<string, unknown> = { a: 1 };
    let tail = cyclic;
    for (let i = 0; i < 100; i++) tail = tail['next'] = { i };
    tail['next'] = cyclic;
    expect(failureOf(cyclic).reason).toBe('cycle');
  });

  it('refuses a sparse array hole and undefined inside an array', () => {
    // eslint-disable-next-line no-sparse-arrays -- the hole is what is tested
    expect(failureOf([1, , 3]).reason).toBe('unsupported_type');
    expect(failureOf({ a: [1, undefined] }).reason).toBe('unsupported_type');
  });

  it('encodes the canonical text as UTF-8 bytes', () => {
    const bytes = canonicalBytes({ '€': 'ö' });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(hex(bytes)).toBe('7b22e282ac223a22c3b6227d');
  });
});

describe('canonicalize refuses values with no canonical form', () => {
  class Point {
    constructor(readonly x: number) {}
  }
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = cyclic;
  const cyclicArray: unknown[] = [];
  cyclicArray.push([cyclicArray]);
  // eslint-disable-next-line no-sparse-arrays -- the hole is the point of the case
  const sparse = [1, , 3];

  it.each<[string, unknown, string, string]>([
    ['NaN', Number.NaN, 'non_finite_number', ''],
    ['Infinity', { n: Infinity }, 'non_finite_number', 'n'],
    ['-Infinity', [-Infinity], 'non_finite_number', '[0]'],
    ['undefined', undefined, 'unsupported_type', ''],
    ['an undefined member', { a: 1, b: undefined }, 'unsupported_type', 'b'],
    ['an undefined array item', [undefined], 'unsupported_type', '[0]'],
    ['a sparse array hole', sparse, 'unsupported_type', '[1]'],
    ['a function', { f: () => 1 }, 'unsupported_type', 'f'],
    ['a symbol', { s: Symbol('s') }, 'unsupported_type', 's'],
    ['a bigint', { big: 1n }, 'unsupported_type', 'big'],
    ['a lone high surrogate', { s: 'a\ud800b' }, 'lone_surrogate', 's'],
    ['a lone low surrogate', ['\udc00'], 'lone_surrogate', '[0]'],
    ['a reversed surrogate pair', '\ude00\ud83d', 'lone_surrogate', ''],
    ['a lone surrogate in a key', { 'k\udfff': 1 }, 'lone_surrogate', '["k\\udfff"]'],
    ['a Date', { when: new Date(0) }, 'non_plain_object', 'when'],
    ['a Map', new Map(), 'non_plain_object', ''],
    ['a Set', { s: new Set([1]) }, 'non_plain_object', 's'],
    ['a class instance', { p: new Point(1) }, 'non_plain_object', 'p'],
    ['a RegExp', [/x/], 'non_plain_object', '[0]'],
    ['a boxed string', { s: new String('x') }, 'non_plain_object', 's'],
    ['a typed array', { b: new Uint8Array(2) }, 'non_plain_object', 'b'],
    ['a cyclic object', { outer: cyclic }, 'cycle', 'outer.self'],
    ['a cyclic array', cyclicArray, 'cycle', '[0][0]'],
  ])('refuses %s', (_name, value, reason, path) => {
    const error = failureOf(value);
    expect(isProvenantError(error)).toBe(true);
    expect(error.code).toBe('not_canonicalizable');
    expect(error.reason).toBe(reason);
    expect(error.path).toBe(path);
    expect(error.details).toEqual({ reason, path });
  });

  it('names the location and the problem in the message', () => {
    expect(failureOf({ a: [{ b: Number.NaN }] }).message).toBe(
      'Cannot canonicalize a[0].b: NaN is not a finite number.',
    );
    expect(failureOf(new Date(0)).message).toBe(
      'Cannot canonicalize the value: a Date is not a plain JSON object.',
    );
  });

  it('refuses nesting deeper than 1000 levels with an error, not a stack overflow', () => {
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(failureOf(deep).reason).toBe('too_deep');

    let fine: unknown = 0;
    for (let i = 0; i < 1000; i++) fine = [fine];
    expect(canonicalize(fine)).toBe('['.repeat(1000) + '0' + ']'.repeat(1000));
  });
});
