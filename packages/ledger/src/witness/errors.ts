import { ProvenantError } from '@provenant/core';

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
