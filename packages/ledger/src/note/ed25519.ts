// Internal (not re-exported): Ed25519 over node:crypto with raw 32-byte keys.
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import type { KeyObject } from 'node:crypto';

// DER prefixes of an Ed25519 private key (PKCS #8, RFC 8410) and public key (SPKI).
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex');

export function privateKeyFromSeed(seed: Uint8Array): KeyObject {
  return createPrivateKey({
    key: Buffer.concat([PKCS8_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
}

export function publicKeyFromSeed(seed: Uint8Array): Uint8Array {
  const spki = createPublicKey(privateKeyFromSeed(seed)).export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(SPKI_PREFIX.length));
}

export function publicKeyObject(publicKey: Uint8Array): KeyObject {
  return createPublicKey({
    key: Buffer.concat([SPKI_PREFIX, publicKey]),
    format: 'der',
    type: 'spki',
  });
}

// KeyObjects are cached per key byte array; key objects are treated as immutable.
const privateCache = new WeakMap<Uint8Array, KeyObject>();
const publicCache = new WeakMap<Uint8Array, KeyObject>();

export function ed25519Sign(seed: Uint8Array, message: Uint8Array): Uint8Array {
  let key = privateCache.get(seed);
  if (!key) {
    key = privateKeyFromSeed(seed);
    privateCache.set(seed, key);
  }
  return new Uint8Array(sign(null, message, key));
}

export function ed25519Verify(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (signature.length !== 64) return false;
  try {
    let key = publicCache.get(publicKey);
    if (!key) {
      key = publicKeyObject(publicKey);
      publicCache.set(publicKey, key);
    }
    return verify(null, message, key, signature);
  } catch {
    return false; // not an Ed25519 public key
  }
}
