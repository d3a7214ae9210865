import { ProvenantError } from '../errors.js';

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

/**
 * Stable codes for signed-note, key and checkpoint failures:
 * - `malformed_note`: not a well-formed C2SP signed note (layout, UTF-8, control characters,
 *   key names, signature encoding, size or signature-count limits).
 * - `unverified_note`: well-formed, but no signature by any of the given verifier keys.
 * - `invalid_signature`: a signature by one of the given verifier keys does not verify.
 * - `ambiguous_verifier`: two different given verifier keys share a name and key ID.
 * - `invalid_verifier_key` / `invalid_signer_key`: a key string that does not parse or whose key
 *   ID does not match its name and public key.
 * - `invalid_key_name`: a key name that is empty or holds a space, a `+` or a control character.
 * - `invalid_note_text`: text that cannot be signed (no final newline, control characters,
 *   ill-formed Unicode, too large).
 * - `invalid_checkpoint`: a note body that is not a C2SP tlog-checkpoint.
 */
export type NoteErrorCode =
  | 'malformed_note'
  | 'unverified_note'
  | 'invalid_signature'
  | 'ambiguous_verifier'
  | 'invalid_verifier_key'
  | 'invalid_signer_key'
  | 'invalid_key_name'
  | 'invalid_note_text'
  | 'invalid_checkpoint';

export class NoteError extends ProvenantError {
  declare readonly code: NoteErrorCode;

  constructor(code: NoteErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * Stable codes for witness cosigning failures:
 * - `invalid_cosigner_key`: a cosignature/v1 key string (signer or verifier) that does not parse,
 *   has the wrong type byte (0x04) or whose key ID does not match its name and public key.
 * - `malformed_add_checkpoint`: a tlog-witness add-checkpoint request body that is not
 *   `old <size>\n` + proof lines + a blank line + a signed note.
 * - `invalid_cosignature`: a cosignature line that does not parse or does not verify.
 * - `witness_policy_unmet`: a checkpoint without enough valid cosignatures by the given
 *   witnesses (k of n).
 */
export type WitnessErrorCode =
  | 'invalid_cosigner_key'
  | 'malformed_add_checkpoint'
  | 'invalid_cosignature'
  | 'witness_policy_unmet';

export class WitnessError extends ProvenantError {
  declare readonly code: WitnessErrorCode;

  constructor(code: WitnessErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}

/**
 * Why an evidence bundle or one of its parts failed verification:
 * - `malformed_bundle`: not JSON, not a `provenant.evidence/v1` object, or not in its canonical
 *   layout (any byte edited outside the signed parts, e.g. whitespace or a reordered key);
 * - `bad_checkpoint_signature`: the checkpoint is not signed by the given verifier key;
 * - `wrong_key`: the bundle names another verifier key than the one given;
 * - `bad_record`: a record is not a record object with its `integrity`;
 * - `leaf_mismatch`: a record's canonical JSON does not hash to the leaf its integrity names;
 * - `inclusion_failed`: an inclusion proof does not lead to the checkpoint's root;
 * - `bad_tlog_proof`: a `c2sp.org/tlog-proof@v1` text is malformed or disagrees with the proof;
 * - `join_mismatch`: the records' roles are not what joining them gives;
 * - `narrative_mismatch` / `checks_mismatch`: the bundle's narrative or checks are not what the
 *   records give.
 */
export type EvidenceErrorCode =
  | 'malformed_bundle'
  | 'bad_checkpoint_signature'
  | 'wrong_key'
  | 'bad_record'
  | 'leaf_mismatch'
  | 'inclusion_failed'
  | 'bad_tlog_proof'
  | 'join_mismatch'
  | 'narrative_mismatch'
  | 'checks_mismatch';

export class EvidenceError extends ProvenantError {
  declare readonly code: EvidenceErrorCode;
  constructor(code: EvidenceErrorCode, message: string, details?: Record<string, unknown>) {
    super(code, message, details);
  }
}
