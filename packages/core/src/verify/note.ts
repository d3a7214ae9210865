import { equalBytes } from '../vocabulary/bytes.js';
import { decodeBase64, utf8, utf8Length } from './bytes.js';
import { NoteError } from './errors.js';
import { ed25519PublicKeyStep, ed25519VerifyStep, sha256Step } from './steps.js';
import type { Steps } from './steps.js';
import { CONTROL_EXCEPT_NEWLINE, LONE_SURROGATE, isValidKeyName } from './text.js';

// C2SP signed-note: keys, key IDs, and opening a note against the verifier keys one trusts.

/** Signature type byte of Ed25519 in C2SP signed-note. */
export const ALG_ED25519 = 0x01;

/**
 * Largest signed note accepted or produced, in UTF-8 bytes. A checkpoint is ~200 bytes; this
 * leaves room for many signatures, including large post-quantum ones.
 */
export const MAX_NOTE_BYTES = 1 << 20;

/** Most signature lines accepted or produced (the spec requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 100;

/** Every signature line starts with an em dash and a space. */
export const SIGNATURE_PREFIX = '\u2014 ';

/** A C2SP signed-note Ed25519 verifier (public) key. */
export interface NoteVerifierKey {
  readonly name: string;
  /** uint32 key ID: SHA-256(name || 0x0A || 0x01 || publicKey)[:4], big-endian. */
  readonly keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** The C2SP key ID of a key of signature type `alg`: SHA-256(name || 0x0A || alg || key)[:4]. */
export function* keyIdSteps(name: string, alg: number, publicKey: Uint8Array): Steps<number> {
  const name8 = utf8(name);
  const data = new Uint8Array(name8.length + 2 + publicKey.length);
  data.set(name8, 0);
  data[name8.length] = 0x0a;
  data[name8.length + 1] = alg;
  data.set(publicKey, name8.length + 2);
  const digest = yield* sha256Step(data);
  return new DataView(digest.buffer, digest.byteOffset, digest.byteLength).getUint32(0);
}

/** The C2SP key ID of an Ed25519 note key: SHA-256(name || 0x0A || 0x01 || publicKey)[:4]. */
export const noteKeyIdSteps = (name: string, publicKey: Uint8Array): Steps<number> =>
  keyIdSteps(name, ALG_ED25519, publicKey);

export const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const HEX8 = /^[0-9a-fA-F]{8}$/;

/** Splits at the first `+`; null when there is none. */
function chop(s: string): [string, string] | null {
  const i = s.indexOf('+');
  return i < 0 ? null : [s.slice(0, i), s.slice(i + 1)];
}

/**
 * `<name>+<hex key id>+<base64(0x01 || key)>` → its parts (the key ID not yet checked), or the
 * reason it is not one. Shared by verifier and signer key strings.
 */
export function parseNoteKeyParts(
  s: string,
): { name: string; keyId: number; key: Uint8Array } | string {
  const a = chop(s);
  if (!a) return 'expected <name>+<key id>+<key>';
  const b = chop(a[1]);
  if (!b) return 'expected <name>+<key id>+<key>';
  const [name, [idHex, keyB64]] = [a[0], b];
  if (!isValidKeyName(name)) return 'invalid key name';
  if (!HEX8.test(idHex)) return 'the key ID must be 8 hex digits';
  const key = decodeBase64(keyB64);
  if (!key || key.length === 0) return 'the key is not valid base64';
  if (key[0] !== ALG_ED25519) return `unsupported signature type 0x${hex8(key[0]!).slice(6)}`;
  if (key.length !== 33) return 'an Ed25519 key must be 32 bytes';
  return { name, keyId: parseInt(idHex, 16), key: key.subarray(1) };
}

/** Parses a verifier key `<name>+<hex8 key id>+<base64(0x01 || public key)>`. */
export function* parseVerifierKeySteps(s: string): Steps<NoteVerifierKey> {
  const fail = (reason: string): never => {
    throw new NoteError('invalid_verifier_key', `Invalid note verifier key: ${reason}.`, {
      reason,
    });
  };
  if (typeof s !== 'string') return fail('not a string');
  const parts = parseNoteKeyParts(s);
  if (typeof parts === 'string') return fail(parts);
  const publicKey = new Uint8Array(parts.key);
  if ((yield* noteKeyIdSteps(parts.name, publicKey)) !== parts.keyId) {
    return fail('the key ID does not match the name and key');
  }
  if (!(yield* ed25519PublicKeyStep(publicKey))) return fail('not an Ed25519 public key');
  return { name: parts.name, keyId: parts.keyId, publicKey };
}

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
export function* openNoteSteps(
  note: string | Uint8Array,
  verifiers: readonly NoteVerifierKey[],
): Steps<OpenedNote> {
  if (note instanceof Uint8Array) {
    if (note.length > MAX_NOTE_BYTES) throw malformed(`larger than ${MAX_NOTE_BYTES} bytes`);
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(note);
    } catch {
      throw malformed('not valid UTF-8');
    }
  } else if (typeof note !== 'string') {
    throw malformed('not a string');
  } else if (note.length > MAX_NOTE_BYTES || utf8Length(note) > MAX_NOTE_BYTES) {
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
    if (!line.startsWith(SIGNATURE_PREFIX))
      throw malformed('a line after the blank line is not a signature');
    const rest = line.slice(SIGNATURE_PREFIX.length);
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
    if (!(yield* ed25519VerifyStep(verifier.publicKey, message, signature))) {
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
