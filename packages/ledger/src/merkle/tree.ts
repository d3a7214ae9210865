import { EMPTY_ROOT, HASH_SIZE, hashChildren } from './hash.js';
import { MerkleError } from './errors.js';

/**
 * Reference RFC 6962 / RFC 9162 §2.1.1 Merkle Tree Hash of a list of leaf hashes, computed
 * straight from the recursive definition: O(n) hashes, O(log n) stack. For tests and offline
 * verification; the log itself uses `appendLeafHashes` and stored subtree hashes.
 */
export function rootFromLeafHashes(leafHashes: readonly Uint8Array[]): Uint8Array {
  if (leafHashes.length === 0) return EMPTY_ROOT.slice();
  for (let i = 0; i < leafHashes.length; i++) {
    if (leafHashes[i]!.length !== HASH_SIZE) {
      throw new MerkleError('bad_hash_size', `Leaf hash ${i} is not ${HASH_SIZE} bytes.`);
    }
  }
  return mth(leafHashes, 0, leafHashes.length);
}

// MTH(D[begin:end]) for end - begin >= 1: split at the largest power of two smaller than n.
function mth(leaves: readonly Uint8Array[], begin: number, end: number): Uint8Array {
  const n = end - begin;
  if (n === 1) return leaves[begin]!;
  let k = 1;
  while (k * 2 < n) k *= 2;
  return hashChildren(mth(leaves, begin, begin + k), mth(leaves, begin + k, end));
}
