import { hash } from 'node:crypto';
import { HASH_SIZE, LEAF_PREFIX, NODE_PREFIX } from '@provenant/core/verify';

// The collector's hot path: the same RFC 6962 hashes as the verifier's `leafHashSteps` and
// `nodeHashSteps` (one set of prefixes), synchronous and without allocation.

export { HASH_SIZE };

// One scratch buffer for the common case of two 32-byte children: no allocation but the digest.
// Safe because hashing is synchronous and the buffer never escapes.
const scratch = new Uint8Array(1 + 2 * HASH_SIZE);
scratch[0] = NODE_PREFIX;

// `crypto.hash` (one-shot) measured ~1.6x faster than `createHash().update().digest()` for
// 65-byte inputs on Node 20.20 (0.60 vs 0.95 µs). The digest is returned as a plain Uint8Array
// view of the Buffer's own 32-byte ArrayBuffer (no copy), so callers never meet Buffer semantics
// such as a `slice()` that does not copy.
function sha256(data: Uint8Array): Uint8Array {
  const b = hash('sha256', data, 'buffer');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

// Leaf records up to 16 KiB are prefixed in a reused buffer: for a 1.1 KB record this measured
// ~20% faster than allocating 0x00 || data each time (1.3 vs 1.65 µs).
const leafScratch = new Uint8Array(1 + 16 * 1024);

/** RFC 6962 leaf hash: SHA-256(0x00 || data). */
export function hashLeaf(data: Uint8Array): Uint8Array {
  if (data.length < leafScratch.length) {
    leafScratch[0] = LEAF_PREFIX;
    leafScratch.set(data, 1);
    return sha256(leafScratch.subarray(0, 1 + data.length));
  }
  const buf = new Uint8Array(1 + data.length);
  buf[0] = LEAF_PREFIX;
  buf.set(data, 1);
  return sha256(buf);
}

// U+0000 is the one byte 0x00 in UTF-8: hashing '\0' + text is SHA-256(0x00 || utf8(text)).
const LEAF_PREFIX_CHAR = String.fromCharCode(LEAF_PREFIX);

/**
 * RFC 6962 leaf hash of the UTF-8 bytes of `text`, without encoding them first: node:crypto
 * encodes the string as it hashes. Equal to `hashLeaf(new TextEncoder().encode(text))` for
 * every string (a lone surrogate becomes U+FFFD in both).
 */
export function hashLeafText(text: string): Uint8Array {
  const b = hash('sha256', LEAF_PREFIX_CHAR + text, 'buffer');
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function hashChildren(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length === HASH_SIZE && right.length === HASH_SIZE) {
    scratch.set(left, 1);
    scratch.set(right, 1 + HASH_SIZE);
    return sha256(scratch);
  }
  // Generic form (the RFC 6962 hasher vectors use short inputs); never on the log's hot path.
  const buf = new Uint8Array(1 + left.length + right.length);
  buf[0] = NODE_PREFIX;
  buf.set(left, 1);
  buf.set(right, 1 + left.length);
  return sha256(buf);
}

/**
 * RFC 6962 interior node hash of two adjacent 32-byte hashes in `bytes`: SHA-256(0x01 ||
 * bytes[at, at + 64)). What hashing a row of a tile (hashes stored one after the other) needs,
 * without a view per child.
 */
export function hashAdjacent(bytes: Uint8Array, at: number): Uint8Array {
  scratch.set(bytes.subarray(at, at + 2 * HASH_SIZE), 1);
  return sha256(scratch);
}

/** Root hash of the empty tree: SHA-256 of the empty string. Shared: never mutate it. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));
