import { describe, expect, it } from 'vitest';
import { canonicalBytes } from '../src/canonical/jcs.js';
import {
  digestOf,
  fromBase64Strict,
  fromHex,
  sha256,
  sha256Hex,
  toBase64,
  toHex,
} from '../src/digest.js';
import { isProvenantError } from '../src/errors.js';

const utf8 = (s: string) => new TextEncoder().encode(s);

function codeOf(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isProvenantError(e) ? e.code : `not a ProvenantError: ${String(e)}`;
  }
  return undefined;
}

describe('sha256', () => {
  // FIPS 180-2 appendix B.1 and the empty-input digest.
  it('matches the published test vectors', () => {
    expect(sha256Hex(utf8('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
    expect(sha256Hex(new Uint8Array(0))).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(toHex(sha256(utf8('abc')))).toBe(sha256Hex(utf8('abc')));
  });

  it('returns a plain 32-byte Uint8Array, not a Node Buffer', () => {
    const digest = sha256(utf8('abc'));
    expect(digest.constructor).toBe(Uint8Array);
    expect(digest.length).toBe(32);
    expect(digest.buffer.byteLength).toBe(32);
  });

  it('hashes only the bytes a subarray view covers', () => {
    const whole = utf8('xxabcxx');
    expect(sha256Hex(whole.subarray(2, 5))).toBe(sha256Hex(utf8('abc')));
    expect(toHex(sha256(whole.subarray(2, 5)))).toBe(sha256Hex(utf8('abc')));
  });
});

describe('digestOf', () => {
  it('is "sha256:" and the hex SHA-256 of the canonical bytes', () => {
    expect(digestOf({})).toBe(
      'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
    );
    const value = { repo: 'acme/payments', ünïcode: ['€', 1e21, -0] };
    expect(digestOf(value)).toBe(`sha256:${sha256Hex(canonicalBytes(value))}`);
  });

  it('does not depend on key order', () => {
    expect(digestOf({ a: 1, b: { c: 2, d: 3 } })).toBe(digestOf({ b: { d: 3, c: 2 }, a: 1 }));
    expect(digestOf({ a: 1 })).not.toBe(digestOf({ a: 2 }));
  });

  it('refuses a value with no canonical form', () => {
    expect(codeOf(() => digestOf({ n: Number.NaN }))).toBe('not_canonicalizable');
    expect(codeOf(() => digestOf('\ud800'))).toBe('not_canonicalizable');
  });
});

describe('base64', () => {
  // RFC 4648 §10 test vectors.
  const vectors: [string, string][] = [
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ];

  it.each(vectors)('encodes %j as %j and decodes it back', (plain, encoded) => {
    expect(toBase64(utf8(plain))).toBe(encoded);
    expect(fromBase64Strict(encoded)).toEqual(utf8(plain));
  });

  it('uses the standard alphabet and round-trips every byte value', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = toBase64(all);
    expect(text).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(text).toContain('+');
    expect(text).toContain('/');
    expect(fromBase64Strict(text)).toEqual(all);
  });

  it('encodes only the bytes a subarray view covers', () => {
    expect(toBase64(utf8('xxfoo').subarray(2))).toBe('Zm9v');
  });

  it('decodes to a plain Uint8Array', () => {
    expect(fromBase64Strict('Zm9v').constructor).toBe(Uint8Array);
  });

  it.each([
    ['missing padding', 'Zg'],
    ['short padding', 'Zg='],
    ['extra padding', 'Zm9v===='],
    ['non-zero leftover bits', 'Zh=='],
    ['non-zero leftover bits before one pad', 'Zm9='],
    ['a trailing newline', 'Zm9v\n'],
    ['a leading space', ' Zm9v'],
    ['an inner space', 'Zm 9v'],
    ['the URL-safe alphabet', '-_8='],
    ['padding in the middle', 'Zg==Zg=='],
    ['characters outside base64', '@@@@'],
    ['a lone character', 'Z'],
  ])('refuses %s', (_name, text) => {
    expect(codeOf(() => fromBase64Strict(text))).toBe('invalid_base64');
  });
});

describe('hex', () => {
  it('encodes lowercase and decodes either case', () => {
    expect(toHex(Uint8Array.of(0x00, 0xab, 0xff))).toBe('00abff');
    expect(fromHex('00abff')).toEqual(Uint8Array.of(0x00, 0xab, 0xff));
    expect(fromHex('00ABFF')).toEqual(Uint8Array.of(0x00, 0xab, 0xff));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it.each([
    ['odd length', 'abc'],
    ['a non-hex character', 'zz'],
    ['a prefix', '0x00'],
    ['a space', 'ab cd'],
  ])('refuses %s', (_name, text) => {
    expect(codeOf(() => fromHex(text))).toBe('invalid_hex');
  });
});
