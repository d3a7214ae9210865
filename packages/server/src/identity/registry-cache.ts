import type { Principal, PrincipalDirectory } from '@provenant/identity';
import { sortedById } from './registry.js';
import type { RegistryStore, Revocation } from './registry.js';

/** What a refresh found changed in the backend since the cache last read it. */
export interface RegistryChanges {
  readonly principals: Principal[];
  readonly revocations: Revocation[];
}

/**
 * The registry as the collector uses it, over any `RegistryStore`: principals and revocations
 * are held in memory (both are small), so the credential checks on the ingest path read them
 * without I/O; every write goes to the backend first and enters the cache once it is durable.
 * Writes and refreshes run one at a time, so the cache applies them in the order the backend
 * committed them. Single-use ids are not cached: the backend's atomic write is the replay check.
 */
export class CachedRegistryStore implements RegistryStore {
  readonly kind: string;
  /** The cached principals, for the identity rules (synchronous reads). */
  readonly directory: PrincipalDirectory = { get: (id) => this.principals.get(id) };
  private readonly principals = new Map<string, Principal>();
  private readonly revocations = new Map<string, number>();
  private turn: Promise<unknown> = Promise.resolve();

  private constructor(private readonly backend: RegistryStore) {
    this.kind = backend.kind;
  }

  /** Wraps `backend`, loading its principals and revocations. */
  static async open(backend: RegistryStore): Promise<CachedRegistryStore> {
    const cache = new CachedRegistryStore(backend);
    await cache.refresh();
    return cache;
  }

  isRevoked(jti: string): boolean {
    return this.revocations.has(jti);
  }

  async listPrincipals(): Promise<Principal[]> {
    return sortedById(this.principals.values());
  }
  savePrincipal(principal: Principal): Promise<void> {
    return this.inTurn(async () => {
      await this.backend.savePrincipal(principal);
      this.principals.set(principal.id, principal);
    });
  }
  async listRevocations(): Promise<Revocation[]> {
    return [...this.revocations].map(([jti, at]) => ({ jti, at }));
  }
  saveRevocation(jti: string, at: number): Promise<void> {
    return this.inTurn(async () => {
      if (this.revocations.has(jti)) return;
      await this.backend.saveRevocation(jti, at);
      this.revocations.set(jti, at);
    });
  }
  useAssertionJti(jti: string, exp: number, now: number): Promise<boolean> {
    return this.backend.useAssertionJti(jti, exp, now);
  }
  useIdToken(key: string, exp: number, now: number): Promise<boolean> {
    return this.backend.useIdToken(key, exp, now);
  }
  useGrantJti(key: string, exp: number, now: number): Promise<boolean> {
    return this.backend.useGrantJti(key, exp, now);
  }

  /**
   * Reads the backend again (several collectors share it) and applies what another one changed;
   * returns only that, so a refresh of an unchanged registry hands nothing over.
   */
  refresh(): Promise<RegistryChanges> {
    return this.inTurn(async () => {
      const [principals, revocations] = await Promise.all([
        this.backend.listPrincipals(),
        this.backend.listRevocations(),
      ]);
      const changed: Principal[] = [];
      for (const p of principals) {
        const known = this.principals.get(p.id);
        if (known !== undefined && JSON.stringify(known) === JSON.stringify(p)) continue;
        this.principals.set(p.id, p);
        changed.push(p);
      }
      const revoked: Revocation[] = [];
      for (const r of revocations) {
        if (this.revocations.has(r.jti)) continue;
        this.revocations.set(r.jti, r.at);
        revoked.push(r);
      }
      return { principals: changed, revocations: revoked };
    });
  }

  close(): Promise<void> {
    return this.inTurn(() => this.backend.close());
  }

  /** Runs `step` after every earlier write or refresh has settled (a failure does not block). */
  private inTurn<T>(step: () => Promise<T>): Promise<T> {
    const run = this.turn.then(step);
    this.turn = run.catch(() => {});
    return run;
  }
}
