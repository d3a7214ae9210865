/**
 * The issuer's signing keys: Ed25519 (`EdDSA`) by default, P-256 (`ES256`) on request, each
 * named by its RFC 7638 thumbprint (`kid`). Rotation retires the current key without dropping
 * it: its public half stays published and trusted, for tokens issued before the rotation only,
 * until every token it signed has expired. `retireNow` drops every older key at once instead
 * (a suspected leak): its tokens stop verifying and its private half leaves the ring.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
} from 'node:crypto';
import type { CryptoKey, FlattenedJWSInput, JWK, JWTVerifyGetKey } from 'jose';
import { systemClock, type Clock } from './clock.js';
import { CredentialError } from './errors.js';
import { importPublicJwk, jwkThumbprint, type AsymmetricAlg } from './lib/jwk.js';

export type SigningAlg = AsymmetricAlg;

export interface SigningKey {
  /** RFC 7638 thumbprint of the public key. */
  kid: string;
  alg: SigningAlg;
  privateKey: CryptoKey | KeyObject;
  /** The public key as published: `kty`, `crv`, `x` (`y`), `kid`, `alg`, `use: "sig"`. */
  publicJwk: JWK;
  /** Unix ms. */
  createdAt: number;
  /** Unix ms; set when a newer key replaced this one. */
  retiredAt?: number;
}

/** The persisted form (private keys included: store it 0600). */
export interface IssuerKeyRingJSON {
  version: 1;
  keys: { kid: string; alg: SigningAlg; privateJwk: JWK; createdAt: number; retiredAt?: number }[];
}

/** Seconds a retired key outlives the tokens it signed, for verifiers' clock skew. */
export const RETIRED_KEY_GRACE_SEC = 60;

export class IssuerKeyRing {
  // Oldest first; the last one is current.
  private keys: SigningKey[];

  private constructor(keys: SigningKey[]) {
    if (keys.length === 0) throw new TypeError('A key ring needs at least one key.');
    this.keys = keys;
  }

  /** A ring with one new key. `now` is Unix ms. */
  static generate(now: number, alg: SigningAlg = 'EdDSA'): IssuerKeyRing {
    return new IssuerKeyRing([newSigningKey(alg, now)]);
  }

  /** The key new tokens are signed with. */
  current(): SigningKey {
    return this.keys[this.keys.length - 1]!;
  }

  /** Every key still held, oldest first. */
  all(): readonly SigningKey[] {
    return this.keys;
  }

  /** The held key with this kid (current or retired), if any. */
  find(kid: string): SigningKey | undefined {
    return this.keys.find((k) => k.kid === kid);
  }

  /** Takes the keys of `other` (e.g. to undo a rotation that could not be stored). */
  replaceKeys(other: IssuerKeyRing): void {
    this.keys = [...other.keys];
  }

  /**
   * Retires the current key at `now` (Unix ms) and makes a new one current. With `retireNow`
   * every older key is dropped from the ring (persist it to delete their private halves).
   * Returns the new key and the kids dropped.
   */
  rotate(
    now: number,
    options: { alg?: SigningAlg; retireNow?: boolean } = {},
  ): { key: SigningKey; dropped: string[] } {
    const old = this.current();
    old.retiredAt = now;
    const next = newSigningKey(options.alg ?? old.alg, now);
    const dropped = options.retireNow === true ? this.keys.map((k) => k.kid) : [];
    this.keys = options.retireNow === true ? [next] : [...this.keys, next];
    return { key: next, dropped };
  }

  /**
   * The public keys to publish: the current key and every retired key some unexpired token may
   * still carry (retired less than `maxTokenLifetimeSec` plus a grace for skew ago).
   */
  jwks(now: number, maxTokenLifetimeSec: number): { keys: JWK[] } {
    return { keys: this.live(now, maxTokenLifetimeSec).map((k) => ({ ...k.publicJwk })) };
  }

  /** Forgets retired keys that no unexpired token can carry any more. */
  prune(now: number, maxTokenLifetimeSec: number): void {
    this.keys = this.live(now, maxTokenLifetimeSec);
  }

  /**
   * A jose key resolver over this ring, for `TrustedIssuer.jwks`: finds the key by `kid`, follows
   * rotations as they happen, refuses a retired key once its window has passed (`unknown_kid`)
   * and, within it, a token whose `iat` is after the key's retirement (`key_retired`): whoever
   * signs with a retired key now is not this issuer. The `iat` is read before the signature is
   * checked; a forged one fails the signature next.
   */
  jwksGetter(maxTokenLifetimeSec: number, clock: Clock = systemClock): JWTVerifyGetKey {
    return async (header, token) => {
      const kid = header.kid;
      const key = typeof kid === 'string' ? this.find(kid) : undefined;
      if (key === undefined || !this.isLive(key, clock(), maxTokenLifetimeSec)) {
        throw new CredentialError(
          'unknown_kid',
          'The token names a key (kid) this issuer does not hold.',
          {
            claim: 'kid',
          },
        );
      }
      if (key.retiredAt !== undefined) {
        const iat = unverifiedIat(token);
        if (iat === undefined || iat * 1000 > key.retiredAt) {
          throw new CredentialError(
            'key_retired',
            `The key ${key.kid} was retired before this token was issued.`,
            { claim: 'iat' },
          );
        }
      }
      if (header.alg !== key.alg) {
        throw new CredentialError(
          'unknown_kid',
          `The key ${key.kid} is not an ${String(header.alg)} key.`,
          {
            claim: 'kid',
          },
        );
      }
      return importPublicJwk(key.publicJwk, key.alg);
    };
  }

  toJSON(): IssuerKeyRingJSON {
    return {
      version: 1,
      keys: this.keys.map((k) => ({
        kid: k.kid,
        alg: k.alg,
        privateJwk: privateJwkOf(k.privateKey),
        createdAt: k.createdAt,
        ...(k.retiredAt === undefined ? {} : { retiredAt: k.retiredAt }),
      })),
    };
  }

  /** Reads `toJSON()` output back, checking every key (its kid must be its thumbprint). */
  static fromJSON(json: unknown): IssuerKeyRing {
    const o = json as Partial<IssuerKeyRingJSON> | null;
    if (
      typeof o !== 'object' ||
      o === null ||
      o.version !== 1 ||
      !Array.isArray(o.keys) ||
      o.keys.length === 0
    ) {
      throw new TypeError('Not an issuer key ring (expected {"version": 1, "keys": [...]}).');
    }
    const keys = o.keys.map((entry, i): SigningKey => {
      const bad = (why: string) => new TypeError(`Issuer key ${i}: ${why}.`);
      if (typeof entry !== 'object' || entry === null) throw bad('not an object');
      const { kid, alg, privateJwk, createdAt, retiredAt } = entry;
      if (alg !== 'EdDSA' && alg !== 'ES256') throw bad('alg must be EdDSA or ES256');
      if (!Number.isSafeInteger(createdAt)) throw bad('createdAt must be Unix ms');
      if (retiredAt !== undefined && !Number.isSafeInteger(retiredAt))
        throw bad('retiredAt must be Unix ms');
      let privateKey: KeyObject;
      try {
        privateKey = createPrivateKey({ key: privateJwk as never, format: 'jwk' });
      } catch {
        throw bad('privateJwk is not a private key');
      }
      const publicJwk = publicJwkOf(privateKey, alg);
      if (publicJwk.kid !== kid) throw bad('kid is not the thumbprint of its key');
      return {
        kid,
        alg,
        privateKey,
        publicJwk,
        createdAt,
        ...(retiredAt === undefined ? {} : { retiredAt }),
      };
    });
    return new IssuerKeyRing(keys);
  }

  private live(now: number, maxTokenLifetimeSec: number): SigningKey[] {
    return this.keys.filter((k) => this.isLive(k, now, maxTokenLifetimeSec));
  }

  private isLive(key: SigningKey, now: number, maxTokenLifetimeSec: number): boolean {
    return (
      key.retiredAt === undefined ||
      now < key.retiredAt + (maxTokenLifetimeSec + RETIRED_KEY_GRACE_SEC) * 1000
    );
  }
}

/** The `iat` of a compact JWS's payload, unverified; undefined when it has none. */
function unverifiedIat(token: FlattenedJWSInput): number | undefined {
  try {
    const raw = token.payload;
    const text =
      typeof raw === 'string'
        ? Buffer.from(raw, 'base64url').toString('utf8')
        : Buffer.from(raw).toString('utf8');
    const payload: unknown = JSON.parse(text);
    const iat = (payload as { iat?: unknown } | null)?.iat;
    return Number.isSafeInteger(iat) ? (iat as number) : undefined;
  } catch {
    return undefined;
  }
}

function newSigningKey(alg: SigningAlg, now: number): SigningKey {
  const { privateKey } =
    alg === 'EdDSA'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const publicJwk = publicJwkOf(privateKey, alg);
  return { kid: publicJwk.kid!, alg, privateKey, publicJwk, createdAt: now };
}

function publicJwkOf(privateKey: KeyObject, alg: SigningAlg): JWK {
  const exported = createPublicKey(privateKey).export({ format: 'jwk' }) as JWK;
  const expected = alg === 'EdDSA' ? { kty: 'OKP', crv: 'Ed25519' } : { kty: 'EC', crv: 'P-256' };
  if (exported.kty !== expected.kty || exported.crv !== expected.crv) {
    throw new TypeError(`The key is not an ${alg} key.`);
  }
  const jwk: JWK = { kty: exported.kty, crv: exported.crv, x: exported.x! };
  if (exported.y !== undefined) jwk.y = exported.y;
  jwk.kid = jwkThumbprint(jwk);
  jwk.alg = alg;
  jwk.use = 'sig';
  return jwk;
}

function privateJwkOf(key: CryptoKey | KeyObject): JWK {
  if (!('export' in key)) {
    throw new TypeError('Only KeyObject signing keys can be persisted.');
  }
  return key.export({ format: 'jwk' }) as JWK;
}
