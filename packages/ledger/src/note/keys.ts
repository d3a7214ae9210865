import { randomBytes } from 'node:crypto';
import {
  ALG_ED25519,
  hex8,
  isValidKeyName,
  noteKeyIdSteps,
  parseNoteKeyParts,
  parseVerifierKeySteps,
} from '@provenant/core/verify';
import type { NoteVerifierKey } from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';
import { encodeBase64 } from './base64.js';
import { publicKeyFromSeed } from './ed25519.js';
import { NoteError } from './errors.js';

// Verifier keys are parsed by the runtime-neutral verifier's rules; signer keys (secrets that
// only the collector and witnesses hold) are made and parsed here.
export { ALG_ED25519, isValidKeyName, type NoteVerifierKey } from '@provenant/core/verify';

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
  return runNode(noteKeyIdSteps(name, publicKey));
}

/** Parses a verifier key `<name>+<hex8 key id>+<base64(0x01 || public key)>`. */
export function parseVerifierKey(s: string): NoteVerifierKey {
  return runNode(parseVerifierKeySteps(s));
}

/** Parses a signer key `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x01 || seed)>`. */
export function parseSignerKey(s: string): NoteSignerKey {
  const fail = (reason: string): never => {
    // Never echo the key itself: it is a secret.
    throw new NoteError('invalid_signer_key', `Invalid note signer key: ${reason}.`, { reason });
  };
  if (typeof s !== 'string') return fail('not a string');
  if (!s.startsWith('PRIVATE+KEY+')) return fail('expected PRIVATE+KEY+<name>+<key id>+<key>');
  const parts = parseNoteKeyParts(s.slice('PRIVATE+KEY+'.length));
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
