// Test helper: loads the public test vectors. The repository keeps a copy in `test/vectors/` so a
// clean clone is self-sufficient; `vectors-copy.test.ts` checks the copy against `../shared`.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** packages/ledger/test → repo root → test/vectors */
export const VECTORS_DIR = fileURLToPath(new URL('../../../test/vectors/', import.meta.url));
/** The steering repository's shared vectors, next to this repository when it is checked out. */
export const SHARED_VECTORS_DIR = fileURLToPath(
  new URL('../../../../shared/vectors/', import.meta.url),
);

/**
 * Parses JSON without rounding integers that a double cannot hold: every integer literal longer
 * than 15 digits is turned into a string first (only outside string literals), and callers turn
 * those strings into bigint with `asInt`. A final walk checks no unsafe number slipped through.
 */
export function parseJsonExact(text: string): unknown {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c === '"') {
      // Copy a string literal verbatim, honouring escapes.
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const num = /[-\d]/.test(c)
      ? /^-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/.exec(text.slice(i, i + 400))
      : null;
    if (num) {
      const tok = num[0];
      out += /^-?\d{16,}$/.test(tok) ? `"${tok}"` : tok;
      i += tok.length;
      continue;
    }
    out += c;
    i++;
  }
  const value: unknown = JSON.parse(out);
  assertNoUnsafeNumbers(value, '$');
  return value;
}

function assertNoUnsafeNumbers(v: unknown, at: string): void {
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) {
    throw new Error(`unsafe integer at ${at}`);
  }
  if (Array.isArray(v)) v.forEach((x, i) => assertNoUnsafeNumbers(x, `${at}[${i}]`));
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) assertNoUnsafeNumbers(x, `${at}.${k}`);
  }
}

export function loadVectors<T>(name: string): T {
  return parseJsonExact(readFileSync(`${VECTORS_DIR}${name}`, 'utf8')) as T;
}

/** An integer from `parseJsonExact`: a number, or a bigint for the long ones kept as strings. */
export function asInt(v: number | string): number | bigint {
  if (typeof v === 'number') return v;
  if (!/^-?\d+$/.test(v)) throw new Error(`not an integer: ${v}`);
  return BigInt(v);
}

export function hex(s: string): Uint8Array {
  if (!/^(?:[0-9a-f]{2})*$/.test(s)) throw new Error(`not lowercase hex: ${s}`);
  return new Uint8Array(Buffer.from(s, 'hex'));
}

export const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const b64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
