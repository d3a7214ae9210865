import { equalBytes } from '@provenant/core';
import { decodeBase64, encodeBase64 } from './base64.js';
import { ed25519Sign, ed25519Verify, publicKeyFromSeed } from './ed25519.js';
import { NoteError } from './errors.js';
import { noteKeyId } from './keys.js';
import type { NoteSignerKey, NoteVerifierKey } from './keys.js';
import { CONTROL_EXCEPT_NEWLINE, LONE_SURROGATE, isValidKeyName } from './text.js';

/**
 * Largest signed note accepted or produced, in UTF-8 bytes. A checkpoint is ~200 bytes; this
 * leaves room for many signatures, including large post-quantum ones.
 */
export const MAX_NOTE_BYTES = 1 << 20;

/** Most signature lines accepted or produced (the spec requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

const SIG_PREFIX = '\u2014 '; // em dash, space

export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes, without the 4-byte key ID. */
  readonly signature: Uint8Array;
  /** True when made by one of the given verifier keys (and then it verified). */
  readonly verified: boolean;
}

export interface OpenedNote {
  /** The signed text, including its final newline. */
  readonly text: string;
  /** Every distinct signature line, in note order; unknown keys have `verified: false`. */
  readonly signatures: NoteSignature[];
}

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

const malformed = (reason: string): NoteError =>
  new NoteError('malformed_note', `Malformed signed note: ${reason}.`, { reason });

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
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) throw malformed(`larger than ${MAX_NOTE_BYTES} bytes`);
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw malformed('not valid UTF-8');
    }
  } else if (typeof note !== 'string') {
    throw malformed('not a string');
  } else if (note.length > MAX_NOTE_BYTES || Buffer.byteLength(note, 'utf8') > MAX_NOTE_BYTES) {
    throw malformed(`larger than ${MAX_NOTE_BYTES} bytes`);
  }
  if (CONTROL_EXCEPT_NEWLINE.test(note)) throw malformed('control character');
  if (LONE_SURROGATE.test(note)) throw malformed('not well-formed Unicode');

  // The text ends at the last blank line; the signature block follows it.
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw malformed('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block.length === 0 || !block.endsWith('\n')) {
    throw malformed('the signature block must be non-empty and end with a newline');
  }
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) {
    throw malformed(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  }

  const known = new Map<string, NoteVerifierKey | 'ambiguous'>();
  for (const v of verifiers) {
    const k = `${v.name}\n${v.keyId}`;
    const prior = known.get(k);
    if (prior === undefined) known.set(k, v);
    else if (prior !== 'ambiguous' && !equalBytes(prior.publicKey, v.publicKey)) {
      known.set(k, 'ambiguous');
    }
  }

  const message = utf8(text);
  const signatures: NoteSignature[] = [];
  const seenLines = new Set<string>(); // unknown-key signature lines already recorded
  const seenKeys = new Set<string>(); // known keys whose signature was already checked
  let verified = 0;
  for (const line of lines) {
    if (!line.startsWith(SIG_PREFIX))
      throw malformed('a line after the blank line is not a signature');
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    if (!isValidKeyName(name)) throw malformed('invalid key name in a signature line');
    const raw = decodeBase64(b64);
    if (!raw || raw.length < 5) throw malformed('invalid signature encoding');
    const keyId = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(0);
    const signature = new Uint8Array(raw.subarray(4));
    const k = `${name}\n${keyId}`;
    const verifier = known.get(k);
    if (verifier === undefined) {
      // Unknown key: ignored, recorded once per distinct line.
      if (seenLines.has(line)) continue;
      seenLines.add(line);
      signatures.push({ name, keyId, signature, verified: false });
      continue;
    }
    if (verifier === 'ambiguous') {
      throw new NoteError(
        'ambiguous_verifier',
        `Two verifier keys are named ${name} with the same key ID.`,
        {
          name,
          keyId,
        },
      );
    }
    if (seenKeys.has(k)) continue; // a repeated signature by the same key is ignored
    seenKeys.add(k);
    if (!ed25519Verify(verifier.publicKey, message, signature)) {
      throw new NoteError('invalid_signature', `The signature by ${name} does not verify.`, {
        name,
        keyId,
      });
    }
    verified++;
    signatures.push({ name, keyId, signature, verified: true });
  }
  if (verified === 0) {
    throw new NoteError('unverified_note', 'The note has no signature by a known key.', {
      signers: signatures.map((s) => s.name),
    });
  }
  return { text, signatures };
}
