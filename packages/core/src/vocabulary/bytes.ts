/**
 * Whether two byte strings are equal. Not constant-time: for hashes, keys and stored bytes
 * compared in the open. Secrets are compared as digests with `crypto.timingSafeEqual`.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
