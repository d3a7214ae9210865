import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64, utf8Length } from '../src/verify/bytes.js';

// The verifier's own base64 (no Buffer) must agree with Node's on every canonical text and
// refuse every other one, since two texts must never stand for one signature or proof.
describe('the verifier’s base64', () => {
  it('encodes and decodes every length as Node does', () => {
    for (let n = 0; n < 70; n++) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 37 + n * 11) & 255);
      const text = Buffer.from(bytes).toString('base64');
      expect(encodeBase64(bytes)).toBe(text);
      expect(decodeBase64(text)).toEqual(bytes);
    }
  });

  it.each([
    ['missing padding', 'YQ'],
    ['extra padding', 'YQ==='],
    ['non-zero leftover bits', 'YR=='],
    ['whitespace', 'YW Jj'],
    ['a newline', 'YWJj\n'],
    ['the URL-safe alphabet', 'a-_a'],
    ['padding in the middle', 'YQ==YQ=='],
  ])('refuses %s', (_why, text) => {
    expect(decodeBase64(text)).toBeNull();
  });
});

describe('utf8Length', () => {
  it.each(['', 'ascii', 'é', '€', '😀 pair', '\ud800 lone', 'end \udc00'])(
    'counts %j as TextEncoder writes it',
    (s) => {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    },
  );
});
