/**
 * The verifier's rules are written once, as generators that yield each cryptographic operation
 * they need and continue with its result. A driver performs the operations: `runSync` with a
 * synchronous provider (node:crypto, for the collector's hot paths), `runAsync` with an
 * asynchronous one (WebCrypto, in any runtime). So Node and the browser run the same rules, not
 * two copies that could drift.
 */

/** One cryptographic operation a rule needs. */
export type CryptoStep =
  | { readonly op: 'sha256'; readonly data: Uint8Array }
  /** RFC 6962 interior node: SHA-256(0x01 || left || right). */
  | { readonly op: 'node_hash'; readonly left: Uint8Array; readonly right: Uint8Array }
  | {
      readonly op: 'ed25519_verify';
      readonly publicKey: Uint8Array;
      readonly message: Uint8Array;
      readonly signature: Uint8Array;
    }
  | { readonly op: 'ed25519_public_key'; readonly publicKey: Uint8Array };

/** A rule: yields the operations it needs, returns its result (or throws its error). */
export type Steps<T> = Generator<CryptoStep, T, unknown>;

/** Performs the operations synchronously. */
export interface SyncCrypto {
  sha256(data: Uint8Array): Uint8Array;
  /** SHA-256(0x01 || left || right). */
  nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array;
  /** False for a bad signature, a signature that is not 64 bytes, or an unusable key. */
  ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
  /** Whether 32 bytes are usable as an Ed25519 public key. */
  isEd25519PublicKey(publicKey: Uint8Array): boolean;
}

/** Performs the operations asynchronously (WebCrypto's shape). */
export interface AsyncCrypto {
  sha256(data: Uint8Array): Promise<Uint8Array>;
  nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array>;
  ed25519Verify(
    publicKey: Uint8Array,
    message: Uint8Array,
    signature: Uint8Array,
  ): Promise<boolean>;
  isEd25519PublicKey(publicKey: Uint8Array): Promise<boolean>;
}

export function* sha256Step(data: Uint8Array): Steps<Uint8Array> {
  return (yield { op: 'sha256', data }) as Uint8Array;
}

export function* ed25519VerifyStep(
  publicKey: Uint8Array,
  message: Uint8Array,
  signature: Uint8Array,
): Steps<boolean> {
  return (yield { op: 'ed25519_verify', publicKey, message, signature }) as boolean;
}

export function* ed25519PublicKeyStep(publicKey: Uint8Array): Steps<boolean> {
  return (yield { op: 'ed25519_public_key', publicKey }) as boolean;
}

// One dispatch for both drivers: the providers differ only in whether results are promises.
function perform<C extends SyncCrypto | AsyncCrypto>(c: C, s: CryptoStep): unknown {
  switch (s.op) {
    case 'sha256':
      return c.sha256(s.data);
    case 'node_hash':
      return c.nodeHash(s.left, s.right);
    case 'ed25519_verify':
      return c.ed25519Verify(s.publicKey, s.message, s.signature);
    case 'ed25519_public_key':
      return c.isEd25519PublicKey(s.publicKey);
  }
}

/** Runs a rule to its end with a synchronous provider. */
export function runSync<T>(steps: Steps<T>, crypto: SyncCrypto): T {
  let next = steps.next();
  while (!next.done) next = steps.next(perform(crypto, next.value));
  return next.value;
}

/** Runs a rule to its end with an asynchronous provider. */
export async function runAsync<T>(steps: Steps<T>, crypto: AsyncCrypto): Promise<T> {
  let next = steps.next();
  while (!next.done) next = steps.next(await perform(crypto, next.value));
  return next.value;
}
