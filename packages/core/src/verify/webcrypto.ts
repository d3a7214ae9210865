import { NODE_PREFIX } from './merkle.js';
import type { AsyncCrypto, Steps } from './steps.js';
import { runAsync } from './steps.js';

// WebCrypto wants its own ArrayBuffer-backed views; copying also keeps a caller's later
// mutation of a shared buffer from racing an operation in flight.
const own = (b: Uint8Array): Uint8Array<ArrayBuffer> => new Uint8Array(b);

// The key type, named without DOM or node typings (either may be the one in scope).
type CryptoKey = Awaited<ReturnType<typeof globalThis.crypto.subtle.importKey>>;

// One imported key per public-key array: a log key verifies many notes.
const imported = new WeakMap<Uint8Array, Promise<CryptoKey | null>>();

function importKey(publicKey: Uint8Array): Promise<CryptoKey | null> {
  let key = imported.get(publicKey);
  if (!key) {
    key = globalThis.crypto.subtle
      .importKey('raw', own(publicKey), { name: 'Ed25519' }, false, ['verify'])
      .catch(() => null);
    imported.set(publicKey, key);
  }
  return key;
}

/** SHA-256 and Ed25519 from `globalThis.crypto.subtle` (browsers, Node ≥ 20, Deno, Bun). */
export const webCrypto: AsyncCrypto = {
  async sha256(data) {
    return new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', own(data)));
  },
  nodeHash(left, right) {
    const data = new Uint8Array(1 + left.length + right.length);
    data[0] = NODE_PREFIX;
    data.set(left, 1);
    data.set(right, 1 + left.length);
    return this.sha256(data);
  },
  async ed25519Verify(publicKey, message, signature) {
    if (publicKey.length !== 32 || signature.length !== 64) return false;
    const key = await importKey(publicKey);
    if (!key) return false;
    try {
      return await globalThis.crypto.subtle.verify('Ed25519', key, own(signature), own(message));
    } catch {
      return false;
    }
  },
  async isEd25519PublicKey(publicKey) {
    return publicKey.length === 32 && (await importKey(publicKey)) !== null;
  },
};

/** Runs a rule with WebCrypto. */
export const runWebCrypto = <T>(steps: Steps<T>): Promise<T> => runAsync(steps, webCrypto);
