import { ProvenantError } from '@provenant/core';

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
