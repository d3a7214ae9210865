import { createPostgresPool, migratePostgres } from '@provenant/ledger/postgres';
import type { Principal } from '@provenant/identity';
import type { RegistryStore } from './registry.js';

type Pool = ReturnType<typeof createPostgresPool>;

const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE registry_principals (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE registry_revocations (jti TEXT PRIMARY KEY, at BIGINT NOT NULL);
CREATE TABLE registry_assertion_jtis (jti TEXT PRIMARY KEY, exp BIGINT NOT NULL);
`,
];

/**
 * Ordered write-through to PostgreSQL behind a synchronous store: every write is queued in
 * call order on one promise chain; `flush()` resolves once all queued writes have committed,
 * or rejects with the first failure since the last flush. The collector awaits `flush()` before
 * it sends any response, so an answer always comes after the commit of what it changed.
 */
export class WriteQueue {
  private chain: Promise<void> = Promise.resolve();
  private failure: Error | null = null;
  private pending = 0;
  private ended: Promise<void> | null = null;

  constructor(private readonly pool: Pool) {}

  push(sql: string, params: readonly unknown[]): void {
    this.pending++;
    this.chain = this.chain.then(async () => {
      try {
        await this.pool.query(sql, params as unknown[]);
      } catch (e) {
        this.failure ??= e as Error;
      } finally {
        this.pending--;
      }
    });
  }

  get idle(): boolean {
    return this.pending === 0 && this.failure === null;
  }

  async flush(): Promise<void> {
    await this.chain;
    const failure = this.failure;
    this.failure = null;
    if (failure) throw failure;
  }

  /** Flushes what is queued (a failure is dropped: nobody waits for it), then closes the pool. */
  end(): Promise<void> {
    return (this.ended ??= this.flush()
      .catch(() => {})
      .then(() => this.pool.end()));
  }
}

/**
 * The identity registry in PostgreSQL. The identity checks on the ingest path are synchronous,
 * so the whole registry is loaded into memory at start (principals and revocations are small;
 * assertion jtis only while unexpired) and every change is written through (see WriteQueue).
 *
 * With several collectors on one database (`--cluster`), each re-reads the registry every
 * refresh period (`reload`), so another collector's principal change or revocation applies here
 * within about a quarter second. A client-assertion jti replayed to two collectors within that
 * window is not caught (documented in docs/OPERATIONS.md).
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly kind = 'postgres';
  private readonly principals = new Map<string, Principal>();
  private readonly revocations = new Map<string, number>();
  private readonly assertions = new Map<string, number>();
  private readonly writes: WriteQueue;
  private uses = 0;

  private constructor(private readonly pool: Pool) {
    this.writes = new WriteQueue(pool);
  }

  static async open(url: string, now: number = Date.now()): Promise<PostgresRegistryStore> {
    const pool = createPostgresPool(url, { poolSize: 2 });
    try {
      await migratePostgres(pool, MIGRATIONS, 'registry');
      const store = new PostgresRegistryStore(pool);
      const principals = await pool.query<{ body: string }>(
        'SELECT body FROM registry_principals ORDER BY id',
      );
      for (const r of principals.rows) {
        const p = JSON.parse(r.body) as Principal;
        store.principals.set(p.id, p);
      }
      const revocations = await pool.query<{ jti: string; at: number }>(
        'SELECT jti, at FROM registry_revocations',
      );
      for (const r of revocations.rows) store.revocations.set(r.jti, r.at);
      const jtis = await pool.query<{ jti: string; exp: number }>(
        'SELECT jti, exp FROM registry_assertion_jtis WHERE exp >= $1',
        [Math.floor(now / 1000)],
      );
      for (const r of jtis.rows) store.assertions.set(r.jti, r.exp);
      return store;
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
  }

  listPrincipals(): Principal[] {
    return [...this.principals.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }
  savePrincipal(principal: Principal): void {
    this.principals.set(principal.id, principal);
    this.writes.push(
      `INSERT INTO registry_principals (id, body) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
      [principal.id, JSON.stringify(principal)],
    );
  }
  listRevocations(): { jti: string; at: number }[] {
    return [...this.revocations].map(([jti, at]) => ({ jti, at }));
  }
  saveRevocation(jti: string, at: number): void {
    if (this.revocations.has(jti)) return;
    this.revocations.set(jti, at);
    this.writes.push(
      'INSERT INTO registry_revocations (jti, at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING',
      [jti, at],
    );
  }
  useAssertionJti(jti: string, exp: number, now: number): boolean {
    const seen = this.assertions.get(jti);
    if (seen !== undefined && seen >= now) return false;
    this.assertions.set(jti, exp);
    this.writes.push(
      `INSERT INTO registry_assertion_jtis (jti, exp) VALUES ($1, $2)
       ON CONFLICT (jti) DO UPDATE SET exp = excluded.exp`,
      [jti, exp],
    );
    if (++this.uses % 1000 === 0) {
      for (const [k, e] of this.assertions) if (e < now) this.assertions.delete(k);
      this.writes.push('DELETE FROM registry_assertion_jtis WHERE exp < $1', [now]);
    }
    return true;
  }
  /**
   * Several collectors: re-reads principals and revocations (both small) so changes made by
   * another collector apply here; returns only what changed since the last read, for the
   * identity service's own views.
   */
  async reload(): Promise<{ principals: Principal[]; revocations: { jti: string; at: number }[] }> {
    const principals = await this.pool.query<{ body: string }>(
      'SELECT body FROM registry_principals',
    );
    const revocations = await this.pool.query<{ jti: string; at: number }>(
      'SELECT jti, at FROM registry_revocations',
    );
    const changed: Principal[] = [];
    for (const r of principals.rows) {
      const p = JSON.parse(r.body) as Principal;
      const known = this.principals.get(p.id);
      if (known && JSON.stringify(known) === r.body) continue;
      this.principals.set(p.id, p);
      changed.push(p);
    }
    const revoked: { jti: string; at: number }[] = [];
    for (const r of revocations.rows) {
      if (this.revocations.has(r.jti)) continue;
      this.revocations.set(r.jti, Number(r.at));
      revoked.push({ jti: r.jti, at: Number(r.at) });
    }
    return { principals: changed, revocations: revoked };
  }
  /** Resolves once every change so far is committed; rejects if one failed. */
  flush(): Promise<void> {
    return this.writes.flush();
  }
  /** True when no write is queued or failed (a response needs no flush). */
  get idle(): boolean {
    return this.writes.idle;
  }
  close(): void {
    void this.end();
  }
  /** Flushes the queued writes, then closes the connections. */
  end(): Promise<void> {
    return this.writes.end();
  }
}
