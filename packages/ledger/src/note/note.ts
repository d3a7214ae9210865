import {
  CONTROL_EXCEPT_NEWLINE,
  LONE_SURROGATE,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  SIGNATURE_PREFIX as SIG_PREFIX,
  isValidKeyName,
  openLogCheckpointSteps,
  openNoteSteps,
} from '@provenant/core/verify';
import type { Checkpoint, NoteVerifierKey, OpenedNote } from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';
import { encodeBase64 } from './base64.js';
import { ed25519Sign, publicKeyFromSeed } from './ed25519.js';
import { NoteError } from './errors.js';
import { noteKeyId } from './keys.js';
import type { NoteSignerKey } from './keys.js';

// Opening a note is the runtime-neutral verifier's rule; signing is the collector's.
export {
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  type NoteSignature,
  type OpenedNote,
} from '@provenant/core/verify';

function utf8(s: string): Buffer {
  return Buffer.from(s, 'utf8');
}

/** Why `text` cannot be the text of a signed note, or null if it can. */
function textProblem(text: string): string | null {
  if (typeof text !== 'string') return 'the text is not a string';
  if (!text.endsWith('\n')) return 'the text must end with a newline';
  if (CONTROL_EXCEPT_NEWLINE.test(text)) return 'the text contains a control character';
  if (LONE_SURROGATE.test(text)) return 'the text is not well-formed Unicode';
  return null;
}

/**
 * Signs `text` (which must end in a newline) with each signer, in order, and returns the signed
 * note: the text, a blank line, then one `— <name> <base64(key id || signature)>` line per
 * signer. Ed25519 is deterministic, so the same text and keys always give the same note.
 */
export function signNote(text: string, signers: readonly NoteSignerKey[]): string {
  const problem = textProblem(text);
  if (problem) throw new NoteError('invalid_note_text', `Cannot sign: ${problem}.`);
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new NoteError(
      'invalid_signer_key',
      `A note needs between 1 and ${MAX_NOTE_SIGNATURES} signers, not ${signers.length}.`,
    );
  }
  const message = utf8(text);
  let out = text + '\n';
  for (const s of signers) {
    if (!isValidKeyName(s.name)) {
      throw new NoteError('invalid_key_name', 'A signer has an invalid key name.', {
        name: s.name,
      });
    }
    checkSigner(s);
    const sig = ed25519Sign(s.seed, message);
    const bytes = new Uint8Array(4 + sig.length);
    new DataView(bytes.buffer).setUint32(0, s.keyId);
    bytes.set(sig, 4);
    out += `${SIG_PREFIX}${s.name} ${encodeBase64(bytes)}\n`;
  }
  if (Buffer.byteLength(out, 'utf8') > MAX_NOTE_BYTES) {
    throw new NoteError(
      'invalid_note_text',
      `The signed note would exceed ${MAX_NOTE_BYTES} bytes.`,
    );
  }
  return out;
}

// Signer objects already checked: their seed gives their public key, which gives their key ID.
const checkedSigners = new WeakSet<NoteSignerKey>();

function checkSigner(s: NoteSignerKey): void {
  if (checkedSigners.has(s)) return;
  const ok =
    s.seed instanceof Uint8Array &&
    s.seed.length === 32 &&
    s.publicKey instanceof Uint8Array &&
    Buffer.from(publicKeyFromSeed(s.seed)).equals(s.publicKey) &&
    noteKeyId(s.name, s.publicKey) === s.keyId;
  if (!ok) {
    throw new NoteError(
      'invalid_signer_key',
      'A signer key is inconsistent (seed, public key, key ID).',
      {
        name: s.name,
      },
    );
  }
  checkedSigners.add(s);
}

/**
 * Parses a signed note and checks its signatures against `verifiers` (C2SP signed-note):
 * signatures by unknown keys (name and key ID not both matching a verifier) are ignored, every
 * signature by a known key must verify (`invalid_signature` otherwise), and at least one must
 * (`unverified_note` otherwise). Malformed notes — bad layout, invalid UTF-8 (when given bytes),
 * control characters, invalid key names or signature encodings, more than
 * `MAX_NOTE_SIGNATURES` signatures or `MAX_NOTE_BYTES` bytes — are `malformed_note`.
 */
export function openNote(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifierKey[],
): OpenedNote {
  return runNode(openNoteSteps(note, verifiers));
}

/**
 * Opens a log's checkpoint: signed by `verifier`, with the verifier's name as its origin and a
 * SHA-256 root. Throws the errors of `openNote`, or `invalid_checkpoint`.
 */
export function openLogCheckpoint(note: string, verifier: NoteVerifierKey): Checkpoint {
  return runNode(openLogCheckpointSteps(note, verifier));
}
