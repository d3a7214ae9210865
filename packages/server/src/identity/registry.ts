import type { Principal } from '@provenant/identity';

export interface Revocation {
  readonly jti: string;
  /** When it was revoked, Unix ms. */
  readonly at: number;
}

/**
 * Where the identity state lives: principals (with their roles and scope ceilings), revoked
 * credentials, and the single-use ids already used — client-assertion `jti`s, ID tokens and JWT authorization grants —
 * (so a replay is refused across restarts, and across collectors sharing one database). Every call resolves once what it wrote is durable. The collector reads
 * through `CachedRegistryStore` (registry-cache.ts), which keeps principals and revocations in
 * memory for the checks on the ingest path. The contract: `test/registry-contract.ts`.
 */
export interface RegistryStore {
  readonly kind: string;
  /** Every principal, sorted by id. */
  listPrincipals(): Promise<Principal[]>;
  /** Adds or replaces a principal (by id). */
  savePrincipal(principal: Principal): Promise<void>;
  /**
   * Every revocation, in no particular order: revoked credentials by jti, and issuer keys retired
   * at once as `issuer-key:<kid>` (IdentityService.rotateKey), so every member refuses them.
   */
  listRevocations(): Promise<Revocation[]>;
  /** Records a revocation; a jti revoked before keeps its first time. */
  saveRevocation(jti: string, at: number): Promise<void>;
  /**
   * Records a client-assertion jti until `exp` (Unix s), in one atomic step: false when it is
   * already recorded with `exp >= now`; an expired one may be used again.
   */
  useAssertionJti(jti: string, exp: number, now: number): Promise<boolean>;
  /**
   * The same for an ID token exchanged at sign-in (`key` from `idTokenReplayKey`), in its own
   * namespace: an assertion jti never spends an ID token, nor the reverse.
   */
  useIdToken(key: string, exp: number, now: number): Promise<boolean>;
  /**
   * The same for a JWT authorization grant (an ID-JAG or another trust domain's; `key` from
   * identity's `grantReplayKey`), in a namespace of its own.
   */
  useGrantJti(key: string, exp: number, now: number): Promise<boolean>;
  close(): Promise<void>;
}

/** Principals in id order (code units), the order `listPrincipals` answers in. */
export function sortedById(principals: Iterable<Principal>): Principal[] {
  return [...principals].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** How many assertion jtis a store records between two purges of the expired ones. */
export const ASSERTION_PURGE_EVERY = 1000;

export class MemoryRegistryStore implements RegistryStore {
  readonly kind = 'memory';
  private readonly principals = new Map<string, Principal>();
  private readonly revocations = new Map<string, number>();
  private readonly assertions = new Map<string, number>();
  private readonly idTokens = new Map<string, number>();
  private readonly grants = new Map<string, number>();
  private uses = 0;

  async listPrincipals(): Promise<Principal[]> {
    return sortedById(this.principals.values());
  }
  async savePrincipal(principal: Principal): Promise<void> {
    this.principals.set(principal.id, principal);
  }
  async listRevocations(): Promise<Revocation[]> {
    return [...this.revocations].map(([jti, at]) => ({ jti, at }));
  }
  async saveRevocation(jti: string, at: number): Promise<void> {
    if (!this.revocations.has(jti)) this.revocations.set(jti, at);
  }
  async useAssertionJti(jti: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce(this.assertions, jti, exp, now);
  }
  async useIdToken(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce(this.idTokens, key, exp, now);
  }
  async useGrantJti(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce(this.grants, key, exp, now);
  }
  private useOnce(seenIds: Map<string, number>, id: string, exp: number, now: number): boolean {
    const seen = seenIds.get(id);
    if (seen !== undefined && seen >= now) return false;
    seenIds.set(id, exp);
    if (++this.uses % ASSERTION_PURGE_EVERY === 0) {
      for (const ids of [this.assertions, this.idTokens, this.grants]) {
        for (const [k, e] of ids) if (e < now) ids.delete(k);
      }
    }
    return true;
  }
  async close(): Promise<void> {}
}
