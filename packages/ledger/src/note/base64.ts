// Internal (not re-exported): strict RFC 4648 §4 base64, as the C2SP specs use.

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Decodes canonical padded base64, or returns null: no whitespace, no missing padding, and no
 * non-zero bits in the last character (so every byte string has exactly one encoding).
 */
export function decodeBase64(s: string): Uint8Array | null {
  if (!BASE64.test(s)) return null;
  const bytes = Buffer.from(s, 'base64');
  return bytes.toString('base64') === s ? new Uint8Array(bytes) : null;
}

export function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}
