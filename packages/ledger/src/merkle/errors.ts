import { ProvenantError } from '@provenant/core';

/**
 * Stable codes for Merkle failures:
 * - `bad_size`: a tree size is not a safe non-negative integer, or sizes are in the wrong order
 *   (consistency needs 0 < size1 <= size2).
 * - `index_out_of_range`: a leaf index is not a safe integer in [0, treeSize).
 * - `bad_hash_size`: a hash (leaf, proof element, root, stored node) is not 32 bytes.
 * - `invalid_proof`: the proof has the wrong number of elements for the sizes given.
 * - `root_mismatch`: the proof is well-formed but does not lead to the expected root.
 * - `bad_frontier`: a frontier whose hash count does not match its size.
 * - `bad_plan`: `assemble` was given a number of hashes that does not match the plan.
 */
export type MerkleErrorCode =
  | 'bad_size'
  | 'index_out_of_range'
  | 'bad_hash_size'
  | 'invalid_proof'
  | 'root_mismatch'
  | 'bad_frontier'
  | 'bad_plan';

export class MerkleError extends ProvenantError {
  declare readonly code: MerkleErrorCode;

  constructor(code: MerkleErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
