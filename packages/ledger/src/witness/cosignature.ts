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
import { createHash, randomBytes } from 'node:crypto';
import { decodeBase64, encodeBase64 } from '../note/base64.js';
import { ed25519Sign, ed25519Verify, publicKeyFromSeed, publicKeyObject } from '../note/ed25519.js';
import { isValidKeyName } from '../note/text.js';
import { WitnessError } from './errors.js';

/** Signature type byte of cosignature/v1 in C2SP signed-note. */
export const ALG_COSIGNATURE_V1 = 0x04;

/** A witness's public key (cosignature/v1). */
export interface CosignerVerifierKey {
  readonly name: string;
  /** uint32 key ID: SHA-256(name || 0x0A || 0x04 || publicKey)[:4], big-endian. */
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** A witness's private key (cosignature/v1). */
export interface CosignerKey extends CosignerVerifierKey {
  /** The raw 32-byte Ed25519 seed. Secret. */
  readonly seed: Uint8Array;
}

/** A verified cosignature. */
export interface Cosignature {
  readonly name: string;
  readonly keyId: number;
  /** Unix seconds the witness put in the signed message. */
  readonly timestamp: number;
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const SIG_PREFIX = '\u2014 ';

const keyError = (reason: string): WitnessError =>
  new WitnessError('invalid_cosigner_key', `Invalid cosigner key: ${reason}.`, { reason });

/** The cosignature/v1 key ID: SHA-256(name || 0x0A || 0x04 || publicKey)[:4]. */
export function cosignerKeyId(name: string, publicKey: Uint8Array): number {
  return createHash('sha256')
    .update(name, 'utf8')
    .update(new Uint8Array([0x0a, ALG_COSIGNATURE_V1]))
    .update(publicKey)
    .digest()
    .readUInt32BE(0);
}

export function cosignerKeyFromSeed(name: string, seed: Uint8Array): CosignerKey {
  if (!isValidKeyName(name)) throw keyError('invalid key name');
  if (!(seed instanceof Uint8Array) || seed.length !== 32)
    throw keyError('the seed must be 32 bytes');
  const ownSeed = new Uint8Array(seed);
  const publicKey = publicKeyFromSeed(ownSeed);
  return { name, keyId: cosignerKeyId(name, publicKey), publicKey, seed: ownSeed };
}

/** A new witness key pair, as strings (`seed` makes it deterministic, for tests). */
export function generateCosignerKey(
  name: string,
  seed: Uint8Array = randomBytes(32),
): { signerKey: string; verifierKey: string } {
  const key = cosignerKeyFromSeed(name, seed);
  return { signerKey: cosignerKeyString(key), verifierKey: cosignerVerifierKeyString(key) };
}

function keyString(k: CosignerVerifierKey, material: Uint8Array): string {
  const bytes = new Uint8Array(33);
  bytes[0] = ALG_COSIGNATURE_V1;
  bytes.set(material, 1);
  return `${k.name}+${hex8(k.keyId)}+${encodeBase64(bytes)}`;
}

/** `<name>+<hex8 key id>+<base64(0x04 || public key)>`. */
export function cosignerVerifierKeyString(k: CosignerVerifierKey): string {
  return keyString(k, k.publicKey);
}

/** `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x04 || seed)>`. Secret. */
export function cosignerKeyString(k: CosignerKey): string {
  return `PRIVATE+KEY+${keyString(k, k.seed)}`;
}

function parseParts(s: string): { name: string; keyId: number; key: Uint8Array } {
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
export function parseCosignerVerifierKey(s: string): CosignerVerifierKey {
  const { name, keyId, key } = parseParts(s);
  if (cosignerKeyId(name, key) !== keyId)
    throw keyError('the key ID does not match the name and key');
  try {
    publicKeyObject(key);
  } catch {
    throw keyError('not an Ed25519 public key');
  }
  return { name, keyId, publicKey: key };
}

/** Parses a witness signer key `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x04 || seed)>`. */
export function parseCosignerKey(s: string): CosignerKey {
  if (typeof s !== 'string' || !s.startsWith('PRIVATE+KEY+')) {
    throw keyError('expected PRIVATE+KEY+<name>+<key id>+<key>');
  }
  let parts;
  try {
    parts = parseParts(s.slice('PRIVATE+KEY+'.length));
  } catch (e) {
    // Never echo the key itself: it is a secret.
    throw keyError((e as WitnessError).details?.['reason'] as string);
  }
  const key = cosignerKeyFromSeed(parts.name, parts.key);
  if (key.keyId !== parts.keyId) throw keyError('the key ID does not match the name and key');
  return key;
}

/** The message a cosignature/v1 signs: header, time line, then the checkpoint body. */
export function cosignatureMessage(checkpointText: string, timestamp: number): Uint8Array {
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new WitnessError(
      'invalid_cosignature',
      'A cosignature timestamp must be a non-negative integer.',
    );
  }
  return new Uint8Array(
    Buffer.from(`cosignature/v1\ntime ${timestamp}\n${checkpointText}`, 'utf8'),
  );
}

/**
 * Cosigns a checkpoint body (the note text, ending in a newline) at `timestamp` (unix seconds)
 * and returns the signature line, with its final newline.
 */
export function cosignCheckpoint(
  checkpointText: string,
  key: CosignerKey,
  timestamp: number,
): string {
  const sig = ed25519Sign(key.seed, cosignatureMessage(checkpointText, timestamp));
  const bytes = new Uint8Array(4 + 8 + 64);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, key.keyId);
  view.setBigUint64(4, BigInt(timestamp));
  bytes.set(sig, 12);
  return `${SIG_PREFIX}${key.name} ${encodeBase64(bytes)}\n`;
}

/** A signature line split into name, key ID and signature bytes (after the key ID), or null. */
export function splitSignatureLine(
  line: string,
): { name: string; keyId: number; signature: Uint8Array } | null {
  const l = line.endsWith('\n') ? line.slice(0, -1) : line;
  if (!l.startsWith(SIG_PREFIX)) return null;
  const rest = l.slice(SIG_PREFIX.length);
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
export function verifyCosignatureBytes(
  checkpointText: string,
  signature: Uint8Array,
  witness: CosignerVerifierKey,
): number | null {
  if (signature.length !== 72) return null;
  const ts = new DataView(signature.buffer, signature.byteOffset, 8).getBigUint64(0);
  if (ts > BigInt(Number.MAX_SAFE_INTEGER)) return null;
  const timestamp = Number(ts);
  const ok = ed25519Verify(
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
export function verifyCosignatureLine(
  checkpointText: string,
  line: string,
  witness: CosignerVerifierKey,
): Cosignature {
  const parts = splitSignatureLine(line);
  if (!parts || parts.name !== witness.name || parts.keyId !== witness.keyId) {
    throw new WitnessError('invalid_cosignature', `Not a cosignature by ${witness.name}.`, {
      witness: witness.name,
    });
  }
  const timestamp = verifyCosignatureBytes(checkpointText, parts.signature, witness);
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
