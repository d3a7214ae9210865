/**
 * Unverified reading of a compact JWS: only for choosing how to verify it (which issuer,
 * which key) and for size and shape checks that must run before any cryptography.
 */

// Three base64url parts; the signature may be empty only so `alg: none` is named as such.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export type DecodeFailure = 'too_large' | 'malformed';

export interface DecodedCompact {
  readonly header: Readonly<Record<string, unknown>>;
  readonly payload: Readonly<Record<string, unknown>>;
}

/**
 * Splits and JSON-decodes a compact JWS, or names why it cannot be one. The length test runs
 * first and costs nothing, so an oversized token is refused before any parsing work.
 */
export function decodeCompact(
  token: unknown,
  maxBytes: number,
): DecodedCompact | { failure: DecodeFailure; message: string } {
  if (typeof token !== 'string') {
    return { failure: 'malformed', message: 'The token is not a string.' };
  }
  // A string's UTF-16 length never exceeds its UTF-8 length, and a compact JWS is ASCII.
  if (token.length > maxBytes) {
    return {
      failure: 'too_large',
      message: `The token is larger than ${maxBytes} bytes.`,
    };
  }
  if (!COMPACT_JWS.test(token)) {
    return {
      failure: 'malformed',
      message: 'The token is not a compact JWS (three base64url parts separated by dots).',
    };
  }
  const firstDot = token.indexOf('.');
  const secondDot = token.indexOf('.', firstDot + 1);
  const header = decodeJsonObject(token.slice(0, firstDot));
  if (header === undefined) {
    return { failure: 'malformed', message: 'The token header is not a JSON object.' };
  }
  const payload = decodeJsonObject(token.slice(firstDot + 1, secondDot));
  if (payload === undefined) {
    return { failure: 'malformed', message: 'The token payload is not a JSON object.' };
  }
  return { header, payload };
}

function decodeJsonObject(part: string): Record<string, unknown> | undefined {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
