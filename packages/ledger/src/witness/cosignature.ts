// C2SP tlog-cosignature/v1 signing (the witness's side). The format and the verification rules
// are the runtime-neutral verifier's (`@provenant/core/verify`, which says how the spec was read).
import { randomBytes } from 'node:crypto';
import {
  ALG_COSIGNATURE_V1,
  SIGNATURE_PREFIX as SIG_PREFIX,
  cosignatureMessage,
  cosignerKeyIdSteps,
  hex8,
  isValidKeyName,
  parseCosignerKeyParts,
  parseCosignerVerifierKeySteps,
  verifyCosignatureBytesSteps,
  verifyCosignatureLineSteps,
} from '@provenant/core/verify';
import type { Cosignature, CosignerVerifierKey } from '@provenant/core/verify';
import { runNode } from '../lib/node-crypto.js';
import { encodeBase64 } from '../note/base64.js';
import { ed25519Sign, publicKeyFromSeed } from '../note/ed25519.js';
import { WitnessError } from './errors.js';

export {
  ALG_COSIGNATURE_V1,
  cosignatureMessage,
  splitSignatureLine,
  type Cosignature,
  type CosignerVerifierKey,
} from '@provenant/core/verify';

/** A witness's private key (cosignature/v1). */
export interface CosignerKey extends CosignerVerifierKey {
  /** The raw 32-byte Ed25519 seed. Secret. */
  readonly seed: Uint8Array;
}

const keyError = (reason: string): WitnessError =>
  new WitnessError('invalid_cosigner_key', `Invalid cosigner key: ${reason}.`, { reason });

/** The cosignature/v1 key ID: SHA-256(name || 0x0A || 0x04 || publicKey)[:4]. */
export function cosignerKeyId(name: string, publicKey: Uint8Array): number {
  return runNode(cosignerKeyIdSteps(name, publicKey));
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

/** Parses a witness verifier key `<name>+<hex8 key id>+<base64(0x04 || public key)>`. */
export function parseCosignerVerifierKey(s: string): CosignerVerifierKey {
  return runNode(parseCosignerVerifierKeySteps(s));
}

/** Parses a witness signer key `PRIVATE+KEY+<name>+<hex8 key id>+<base64(0x04 || seed)>`. */
export function parseCosignerKey(s: string): CosignerKey {
  if (typeof s !== 'string' || !s.startsWith('PRIVATE+KEY+')) {
    throw keyError('expected PRIVATE+KEY+<name>+<key id>+<key>');
  }
  let parts;
  try {
    parts = parseCosignerKeyParts(s.slice('PRIVATE+KEY+'.length));
  } catch (e) {
    // Never echo the key itself: it is a secret.
    throw keyError((e as WitnessError).details?.['reason'] as string);
  }
  const key = cosignerKeyFromSeed(parts.name, parts.key);
  if (key.keyId !== parts.keyId) throw keyError('the key ID does not match the name and key');
  return key;
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

/**
 * Checks one cosignature (signature bytes after the key ID: timestamp || Ed25519 signature) by
 * `witness` over `checkpointText`; returns its timestamp, or null when it does not verify.
 */
export function verifyCosignatureBytes(
  checkpointText: string,
  signature: Uint8Array,
  witness: CosignerVerifierKey,
): number | null {
  return runNode(verifyCosignatureBytesSteps(checkpointText, signature, witness));
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
  return runNode(verifyCosignatureLineSteps(checkpointText, line, witness));
}
