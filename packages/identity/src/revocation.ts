/** Revoked credentials and used client-assertion ids: the two small stores the issuer needs. */
import { ProvenantError } from '@provenant/core';
import { systemClock, type Clock } from './clock.js';

/**
 * Answers whether a credential (by `jti`) was revoked. Synchronous: consulted on every verify,
 * so it reads an in-process view (the collector's cached registry keeps every revocation).
 */
export interface RevocationCheck {
  isRevoked(jti: string): boolean;
}

export interface RevocationStore extends RevocationCheck {
  /** Records the revocation of `jti` at `at` (Unix ms); resolves once it is durable. Idempotent. */
  revoke(jti: string, at: number): Promise<void>;
}

export class MemoryRevocationStore implements RevocationStore {
  private readonly revoked = new Map<string, number>();

  isRevoked(jti: string): boolean {
    return this.revoked.has(jti);
  }

  async revoke(jti: string, at: number): Promise<void> {
    if (!this.revoked.has(jti)) this.revoked.set(jti, at);
  }

  /** When `jti` was revoked (Unix ms), if it was. */
  revokedAt(jti: string): number | undefined {
    return this.revoked.get(jti);
  }
}

/**
 * Remembers single-use ids (client-assertion `jti`s) until they expire. Asynchronous: a shared
 * store decides in one atomic write, so two collectors cannot both accept one assertion.
 */
export interface ReplayCache {
  /** True the first time `jti` is presented before `exp` (Unix seconds); false if seen. */
  useOnce(jti: string, exp: number): Promise<boolean>;
}

/**
 * An in-memory replay cache holding at most `maxEntries` unexpired ids. Expired ids are dropped
 * as time passes. When it is full of unexpired ids it refuses with `replay_cache_full` rather
 * than forget one (forgetting would let that assertion be replayed): the token endpoint answers
 * 503 until ids expire, which they do within an assertion's maximum lifetime.
 */
export class MemoryReplayCache implements ReplayCache {
  // id -> exp (Unix seconds); insertion order is roughly expiry order.
  private readonly seen = new Map<string, number>();
  private readonly maxEntries: number;
  private readonly clock: Clock;

  constructor(opts: { maxEntries?: number; clock?: Clock } = {}) {
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.clock = opts.clock ?? systemClock;
    if (!Number.isSafeInteger(this.maxEntries) || this.maxEntries < 1) {
      throw new TypeError('maxEntries must be a positive integer.');
    }
  }

  get size(): number {
    return this.seen.size;
  }

  async useOnce(jti: string, exp: number): Promise<boolean> {
    const now = Math.floor(this.clock() / 1000);
    this.dropExpiredFront(now);
    const previous = this.seen.get(jti);
    if (previous !== undefined && previous >= now) return false;
    if (this.seen.size >= this.maxEntries) {
      for (const [id, e] of this.seen) if (e < now) this.seen.delete(id);
      if (this.seen.size >= this.maxEntries) {
        throw new ProvenantError(
          'replay_cache_full',
          'Too many client assertions are live at once; retry shortly.',
        );
      }
    }
    this.seen.delete(jti);
    this.seen.set(jti, exp);
    return true;
  }

  // Amortised O(1): most ids are inserted in expiry order, so expired ones sit at the front.
  private dropExpiredFront(now: number): void {
    for (const [id, e] of this.seen) {
      if (e >= now) return;
      this.seen.delete(id);
    }
  }
}
