import { createHash, randomBytes } from 'node:crypto';
import { decodeBase64, encodeBase64 } from './base64.js';
import { publicKeyFromSeed, publicKeyObject } from './ed25519.js';
import { NoteError } from './errors.js';
import { isValidKeyName } from './text.js';

export { isValidKeyName } from './text.js';

/** Signature type byte of Ed25519 in C2SP signed-note. */
export const ALG_ED25519 = 0x01;

/** A C2SP signed-note Ed25519 verifier (public) key. */
export interface NoteVerifierKey {
  readonly name: string;
  /** uint32 key ID: SHA-256(name || 0x0A || 0x01 || publicKey)[:4], big-endian. */
  readonly keyId: number;
  /** The raw 32-byte Ed25519 public key. */
  readonly publicKey: Uint8Array;
}

/** A C2SP signed-note Ed25519 signer (private) key. */
export interface NoteSignerKey {
  readonly name: string;
  readonly keyId: number;
  /** The raw 32-byte Ed25519 private key seed (RFC 8032). */
  readonly seed: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The C2SP key ID of an Ed25519 key: SHA-256(name || 0x0A || 0x01 || publicKey)[:4]. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(name, 'utf8')
    .update(new Uint8Array([0x0a, ALG_ED25519]))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

const hex8 = (n: number): string => n.toString(16).padStart(8, '0');
const HEX8 = /^[0-9a-fA-F]{8}$/;

/** Splits at the first `+`; null when there is none. */
function chop(s: string): [string, string] | null {
  const i = s.indexOf('+');
  return i < 0 ? null : [s.slice(0, i), s.slice(i + 1)];
}

/** `<name>+<hex key id>+<base64(0x01 || key)>` → its parts, or a reason it is invalid. */
function parseKeyParts(s: string): { name: string; keyId: number; key: Uint8Array } | string {
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
export function parseVerifierKey(s: string): NoteVerifierKey {
  const fail = (reason: string): never => {
    throw new NoteError('invalid_verifier_key', `Invalid note verifier key: ${reason}.`, {
      reason,
    });
  };
  if (typeof s !== 'string') return fail('not a string');
  const parts = parseKeyParts(s);
  if (typeof parts === 'string') return fail(parts);
  const publicKey = new Uint8Array(parts.key);
  if (noteKeyId(parts.name, publicKey) !== parts.keyId) {
    return fail('the key ID does not match the name and key');
  }
  try {
    publicKeyObject(publicKey);
  } catch {
    return fail('not an Ed25519 public key');
  }
  return { name: parts.name, keyId: parts.keyId, publicKey };
}

/** Parses a signer key `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x01 || seed)>`. */
export function parseSignerKey(s: string): NoteSignerKey {
  const fail = (reason: string): never => {
    // Never echo the key itself: it is a secret.
    throw new NoteError('invalid_signer_key', `Invalid note signer key: ${reason}.`, { reason });
  };
  if (typeof s !== 'string') return fail('not a string');
  if (!s.startsWith('PRIVATE+KEY+')) return fail('expected PRIVATE+KEY+<name>+<key id>+<key>');
  const parts = parseKeyParts(s.slice('PRIVATE+KEY+'.length));
  if (typeof parts === 'string') return fail(parts);
  const key = signerKeyFromSeed(parts.name, parts.key);
  if (key.keyId !== parts.keyId) return fail('the key ID does not match the name and key');
  return key;
}

/** The signer key for a name and a 32-byte Ed25519 seed. */
export function signerKeyFromSeed(name: string, seed: Uint8Array): NoteSignerKey {
  if (!isValidKeyName(name)) {
    throw new NoteError(
      'invalid_key_name',
      'A key name must be non-empty, without spaces, "+" or control characters.',
      {
        name,
      },
    );
  }
  if (!(seed instanceof Uint8Array) || seed.length !== 32) {
    throw new NoteError('invalid_signer_key', 'An Ed25519 seed must be 32 bytes.');
  }
  const ownSeed = new Uint8Array(seed);
  const publicKey = publicKeyFromSeed(ownSeed);
  return { name, keyId: noteKeyId(name, publicKey), seed: ownSeed, publicKey };
}

/**
 * Makes a new Ed25519 key pair for `name`, as note key strings. `seed` (32 bytes) makes the
 * result deterministic, for tests; by default it is random.
 */
export function generateSignerKey(
  name: string,
  seed: Uint8Array = randomBytes(32),
): { signerKey: string; verifierKey: string } {
  const key = signerKeyFromSeed(name, seed);
  return { signerKey: signerKeyString(key), verifierKey: verifierKeyString(key) };
}

function keyString(k: NoteSignerKey | NoteVerifierKey, material: Uint8Array): string {
  if (!isValidKeyName(k.name) || k.publicKey.length !== 32 || material.length !== 32) {
    throw new TypeError('Not a valid Ed25519 note key.');
  }
  const keyId = noteKeyId(k.name, k.publicKey);
  if (keyId !== k.keyId) throw new TypeError('The key ID does not match the name and key.');
  const bytes = new Uint8Array(33);
  bytes[0] = ALG_ED25519;
  bytes.set(material, 1);
  return `${k.name}+${hex8(keyId)}+${encodeBase64(bytes)}`;
}

/** The verifier key string `<name>+<hex8 key id>+<base64(0x01 || public key)>`. */
export function verifierKeyString(k: NoteSignerKey | NoteVerifierKey): string {
  return keyString(k, k.publicKey);
}

/** The signer key string `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x01 || seed)>`. Secret. */
export function signerKeyString(k: NoteSignerKey): string {
  return `PRIVATE+KEY+${keyString(k, k.seed)}`;
}
