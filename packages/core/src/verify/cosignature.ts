// C2SP tlog-cosignature/v1, as read for this implementation (no network access to the spec):
//
// - A cosigner (witness) key is an Ed25519 key whose C2SP signed-note signature type is 0x04
//   ("cosignature/v1"), not 0x01 (plain Ed25519 note signatures). Its key ID is
//   SHA-256(name || 0x0A || 0x04 || public key)[:4], and its verifier key string is
//   `<name>+<hex8 key id>+<base64(0x04 || public key)>`.
// - The signed message is
//       "cosignature/v1\n" + "time " + <decimal unix seconds> + "\n" + <checkpoint body>
//   where the checkpoint body is the note text (origin, size, root hash and any extension lines,
//   each ending in a newline). Provenant's checkpoints carry no extension lines, so the question
//   of whether extension lines are covered does not arise for its own logs; this code signs the
//   whole body as given.
// - The signature bytes in the note signature line are timestamp (uint64 big-endian seconds) ||
//   Ed25519 signature (64 bytes), so the line is
//       "— <name> " + base64(key ID (4 bytes) || timestamp (8 bytes) || signature (64 bytes)) + "\n"
//   A cosignature line is an ordinary signed-note signature line: verifiers that do not know the
//   witness key ignore it (signed-note rules), which keeps cosigned checkpoints readable by
//   clients that ignore cosignatures.
import { decodeBase64, utf8 } from './bytes.js';
import { parseCheckpoint } from './checkpoint.js';
import type { Checkpoint } from './checkpoint.js';
import { NoteError, WitnessError } from './errors.js';
import { SIGNATURE_PREFIX, keyIdSteps, openNoteSteps } from './note.js';
import type { NoteVerifierKey } from './note.js';
import { ed25519PublicKeyStep, ed25519VerifyStep } from './steps.js';
import type { Steps } from './steps.js';
import { isValidKeyName } from './text.js';

/** Signature type byte of cosignature/v1 in C2SP signed-note. */
export const ALG_COSIGNATURE_V1 = 0x04;

/** A witness's public key (cosignature/v1). */
export interface CosignerVerifierKey {
  readonly name: string;
  /** uint32 key ID: SHA-256(name || 0x0A || 0x04 || publicKey)[:4], big-endian. */
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** A verified cosignature. */
export interface Cosignature {
  readonly name: string;
  readonly keyId: number;
  /** Unix seconds the witness put in the signed message. */
  readonly timestamp: number;
}

const keyError = (reason: string): WitnessError =>
  new WitnessError('invalid_cosigner_key', `Invalid cosigner key: ${reason}.`, { reason });

/** The cosignature/v1 key ID: SHA-256(name || 0x0A || 0x04 || publicKey)[:4]. */
export const cosignerKeyIdSteps = (name: string, publicKey: Uint8Array): Steps<number> =>
  keyIdSteps(name, ALG_COSIGNATURE_V1, publicKey);

/**
 * `<name>+<hex8 key id>+<base64(0x04 || key)>` → its parts (the key ID not yet checked); throws
 * `invalid_cosigner_key`. Shared by verifier and signer key strings.
 */
export function parseCosignerKeyParts(s: string): {
  name: string;
  keyId: number;
  key: Uint8Array;
} {
  if (typeof s !== 'string') throw keyError('not a string');
  const m = /^([^+]+)\+([0-9a-fA-F]{8})\+(.*)$/s.exec(s);
  if (!m) throw keyError('expected <name>+<hex8 key id>+<base64 key>');
  const [, name, idHex, keyB64] = m as unknown as [string, string, string, string];
  if (!isValidKeyName(name)) throw keyError('invalid key name');
  const key = decodeBase64(keyB64);
  if (!key || key.length === 0) throw keyError('the key is not valid base64');
  if (key[0] !== ALG_COSIGNATURE_V1) {
    throw keyError(
      `the key type is 0x${key[0]!.toString(16).padStart(2, '0')}, not 0x04 (cosignature/v1)`,
    );
  }
  if (key.length !== 33) throw keyError('an Ed25519 key must be 32 bytes');
  return { name, keyId: parseInt(idHex, 16), key: new Uint8Array(key.subarray(1)) };
}

/** Parses a witness verifier key `<name>+<hex8 key id>+<base64(0x04 || public key)>`. */
export function* parseCosignerVerifierKeySteps(s: string): Steps<CosignerVerifierKey> {
  const { name, keyId, key } = parseCosignerKeyParts(s);
  if ((yield* cosignerKeyIdSteps(name, key)) !== keyId)
    throw keyError('the key ID does not match the name and key');
  if (!(yield* ed25519PublicKeyStep(key))) throw keyError('not an Ed25519 public key');
  return { name, keyId, publicKey: key };
}

/** The message a cosignature/v1 signs: header, time line, then the checkpoint body. */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new WitnessError(
      'invalid_cosignature',
      'A cosignature timestamp must be a non-negative integer.',
    );
  }
  return utf8(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`);
}

/** A signature line split into name, key ID and signature bytes (after the key ID), or null. */
export function splitSignatureLine(
  line: string,
): { name: string; keyId: number; signature: Uint8Array } | null {
  const l = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (!l.startsWith(SIGNATURE_PREFIX)) return null;
  const rest = l.slice(SIGNATURE_PREFIX.length);
  const space = rest.indexOf(' ');
  if (space <= 0) return null;
  const name = rest.slice(0, space);
  if (!isValidKeyName(name)) return null;
  const raw = decodeBase64(rest.slice(space + 1));
  if (!raw || raw.length < 5) return null;
  const keyId = new DataView(raw.buffer, raw.byteOffset, raw.byteLength).getUint32(0);
  return { name, keyId, signature: new Uint8Array(raw.subarray(4)) };
}

/**
 * Checks one cosignature (signature bytes after the key ID: timestamp || Ed25519 signature) by
 * `witness` over `checkpointText`; returns its timestamp, or null when it does not verify.
 */
export function* verifyCosignatureBytesSteps(
  checkpointText: string,
  signature: Uint8Array,
  witness: CosignerVerifierKey,
): Steps<number | null> {
  if (signature.length !== 72) return null;
  const ts = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const timestamp = Number(ts);
  const ok = yield* ed25519VerifyStep(
    witness.publicKey,
    cosignatureMessage(checkpointText, timestamp),
    signature.subarray(8),
  );
  return ok ? timestamp : null;
}

/**
 * Checks a cosignature line by `witness` over `checkpointText`; throws `invalid_cosignature`
 * when it is not by that key or does not verify.
 */
export function* verifyCosignatureLineSteps(
  checkpointText: string,
  line: string,
  witness: CosignerVerifierKey,
): Steps<Cosignature> {
  const parts = splitSignatureLine(line);
  if (!parts || parts.name !== witness.name || parts.keyId !== witness.keyId) {
    throw new WitnessError('invalid_cosignature', `Not a cosignature by ${witness.name}.`, {
      witness: witness.name,
    });
  }
  const timestamp = yield* verifyCosignatureBytesSteps(checkpointText, parts.signature, witness);
  if (timestamp === null) {
    throw new WitnessError(
      'invalid_cosignature',
      `The cosignature by ${witness.name} does not verify.`,
      {
        witness: witness.name,
      },
    );
  }
  return { name: witness.name, keyId: witness.keyId, timestamp };
}

/** A signature line's parts, as `openNote` and `splitSignatureLine` give them. */
export interface SignatureParts {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the key ID. */
  readonly signature: Uint8Array;
}

/** What the signature lines of a checkpoint hold for one witness. */
export interface WitnessCosignature {
  /** Its first valid cosignature, or null. */
  readonly cosignature: Cosignature | null;
  /** Lines by the witness's name and key ID that did not verify before a valid one was found. */
  readonly invalid: number;
  /** Lines by the witness's name and key ID. */
  readonly lines: number;
}

/** Finds `witness`'s cosignature over `checkpointText` among a note's signature lines. */
export function* witnessCosignatureSteps(
  checkpointText: string,
  signatures: readonly SignatureParts[],
  witness: CosignerVerifierKey,
): Steps<WitnessCosignature> {
  let invalid = 0;
  let lines = 0;
  for (const s of signatures) {
    if (s.name !== witness.name || s.keyId !== witness.keyId) continue;
    lines++;
    const timestamp = yield* verifyCosignatureBytesSteps(checkpointText, s.signature, witness);
    if (timestamp !== null) {
      return {
        cosignature: { name: witness.name, keyId: witness.keyId, timestamp },
        invalid,
        lines,
      };
    }
    invalid++;
  }
  return { cosignature: null, invalid, lines };
}

/**
 * The text of a note and the parts of its well-formed signature lines, without checking any
 * signature (for showing each witness's cosignature even when the log's key is not at hand).
 * Throws `malformed_note` when there is no signature block.
 */
export function noteSignatureLines(note: string): { text: string; signatures: SignatureParts[] } {
  const split = typeof note === 'string' ? note.lastIndexOf('\n\n') : -1;
  if (split < 0) {
    throw new NoteError(
      'malformed_note',
      'Malformed signed note: no blank line before the signatures.',
      {
        reason: 'no blank line before the signatures',
      },
    );
  }
  const signatures = note
    .slice(split + 2)
    .split('\n')
    .flatMap((line) => splitSignatureLine(line) ?? []);
  return { text: note.slice(0, split + 1), signatures };
}

export interface CosignedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The signed text of the checkpoint. */
  readonly text: string;
  /** Valid cosignatures by the given witnesses, one per witness at most. */
  readonly cosignatures: readonly Cosignature[];
}

/**
 * Opens a checkpoint note signed by the log and checks its witness cosignatures: at least
 * `policy` of `witnesses` (k of n) must have a valid cosignature line in the note. A line by a
 * known witness name and key ID that does not verify counts as no cosignature (and is reported
 * through the error's details when the policy fails). Throws the note errors of `openNote` for
 * the log signature, `witness_policy_unmet` otherwise.
 */
export function* verifyCosignedCheckpointSteps(
  note: string,
  log: NoteVerifierKey,
  witnesses: readonly CosignerVerifierKey[],
  policy: number = witnesses.length,
): Steps<CosignedCheckpoint> {
  const opened = yield* openNoteSteps(note, [log]);
  const checkpoint = parseCheckpoint(opened.text);
  const cosignatures: Cosignature[] = [];
  const invalid: string[] = [];
  const unverified = opened.signatures.filter((s) => !s.verified);
  for (const w of witnesses) {
    const found = yield* witnessCosignatureSteps(opened.text, unverified, w);
    for (let k = 0; k < found.invalid; k++) invalid.push(w.name);
    if (found.cosignature) cosignatures.push(found.cosignature);
  }
  if (cosignatures.length < policy || policy < 1) {
    throw new WitnessError(
      'witness_policy_unmet',
      `The checkpoint (size ${checkpoint.size}) has ${cosignatures.length} valid cosignature(s) by the given witnesses; the policy needs ${policy} of ${witnesses.length}.`,
      { valid: cosignatures.map((c) => c.name), invalid, policy, witnesses: witnesses.length },
    );
  }
  return { checkpoint, text: opened.text, cosignatures };
}
