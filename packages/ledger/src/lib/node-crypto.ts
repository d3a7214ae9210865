// Internal (not re-exported): the verifier's rules (`@provenant/core/verify`) run synchronously
// on node:crypto, for the collector's paths that cannot wait on WebCrypto's promises.
import { hash } from 'node:crypto';
import { runSync } from '@provenant/core/verify';
import type { Steps, SyncCrypto } from '@provenant/core/verify';
import { hashChildren } from '../merkle/hash.js';
import { ed25519Verify, publicKeyObject } from '../note/ed25519.js';

export const nodeCrypto: SyncCrypto = {
  sha256(data) {
    const b = hash('sha256', data, 'buffer');
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  },
  nodeHash: hashChildren,
  ed25519Verify,
  isEd25519PublicKey(publicKey) {
    try {
      publicKeyObject(publicKey);
      return true;
    } catch {
      return false;
    }
  },
};

/** Runs one of the verifier's rules to its end with node:crypto. */
export const runNode = <T>(steps: Steps<T>): T => runSync(steps, nodeCrypto);
