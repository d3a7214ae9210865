import {
  rootFromInclusionProofSteps,
  verifyConsistencySteps,
  verifyInclusionSteps,
} from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';

// The rules are the runtime-neutral verifier's (`@provenant/core/verify`), run synchronously.

/**
 * The root hash that an inclusion proof implies for a leaf, or a `MerkleError` if the proof is
 * malformed for that index and size (`index_out_of_range`, `bad_size`, `bad_hash_size`,
 * `invalid_proof`).
 */
export function rootFromInclusionProof(
  leafHash: Uint8Array,
  leafIndex: number | bigint,
  treeSize: number | bigint,
  proof: readonly Uint8Array[],
): Uint8Array {
  return runNode(rootFromInclusionProofSteps(leafHash, leafIndex, treeSize, proof));
}

/**
 * Verifies that `leafHash` is leaf `leafIndex` of the tree of `treeSize` leaves whose root is
 * `root`. Returns on success; throws a `MerkleError` otherwise.
 */
export function verifyInclusion(
  leafHash: Uint8Array,
  leafIndex: number | bigint,
  treeSize: number | bigint,
  proof: readonly Uint8Array[],
  root: Uint8Array,
): void {
  runNode(verifyInclusionSteps(leafHash, leafIndex, treeSize, proof, root));
}

/**
 * Verifies that the tree of `size2` leaves with root `root2` extends the tree of `size1` leaves
 * with root `root1` (RFC 9162 §2.1.4.2; `size1 = 0` always fails, as transparency-dev/merkle
 * does). Returns on success; throws a `MerkleError` otherwise.
 */
export function verifyConsistency(
  size1: number | bigint,
  size2: number | bigint,
  proof: readonly Uint8Array[],
  root1: Uint8Array,
  root2: Uint8Array,
): void {
  runNode(verifyConsistencySteps(size1, size2, proof, root1, root2));
}
