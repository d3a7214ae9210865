/**
 * `@provenant/core/verify`: the one verifier of Provenant's proofs, for every runtime. Plain
 * Uint8Array and `globalThis.crypto.subtle` only (no node:*, no Buffer, no zod), so the CLI, the
 * collector and the browser console import the same rules. Each rule is a `…Steps` generator;
 * the plain names run it on WebCrypto, and ledger runs the same generators on node:crypto.
 */
export {
  canonicalize,
  canonicalBytes,
  CanonicalizationError,
  type CanonicalizationFailure,
} from '../canonical/jcs.js';
export { ProvenantError, isProvenantError } from '../errors.js';
export * from './errors.js';
export { decodeBase64, encodeBase64 } from './bytes.js';
export { equalBytes } from '../vocabulary/bytes.js';
export * from './steps.js';
export { webCrypto, runWebCrypto } from './webcrypto.js';
export { CONTROL_EXCEPT_NEWLINE, LONE_SURROGATE, isValidKeyName } from './text.js';
export * from './merkle.js';
export * from './note.js';
export * from './checkpoint.js';
export * from './cosignature.js';
export * from './tlog-proof.js';
export * from './evidence.js';
export * from './verifier.js';
