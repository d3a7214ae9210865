import { ProvenantError } from '@provenant/core';

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
