import Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import type { Principal } from '@provenant/identity';

export interface Revocation {
  readonly jti: string;
  /** When it was revoked, Unix ms. */
  readonly at: number;
}

/**
 * Where the identity state lives: principals, revoked credentials, and the client-assertion
 * `jti`s already used (so a replay is refused across restarts, and across collectors sharing
 * one database). Every call resolves once what it wrote is durable. The collector reads
 * through `CachedRegistryStore` (registry-cache.ts), which keeps principals and revocations in
 * memory for the checks on the ingest path. The contract: `test/registry-contract.ts`.
 */
export interface RegistryStore {
  readonly kind: string;
  /** Every principal, sorted by id. */
  listPrincipals(): Promise<Principal[]>;
  /** Adds or replaces a principal (by id). */
  savePrincipal(principal: Principal): Promise<void>;
  /** Every revocation, in no particular order. */
  listRevocations(): Promise<Revocation[]>;
  /** Records a revocation; a jti revoked before keeps its first time. */
  saveRevocation(jti: string, at: number): Promise<void>;
  /**
   * Records a client-assertion jti until `exp` (Unix s), in one atomic step: false when it is
   * already recorded with `exp >= now`; an expired one may be used again.
   */
  useAssertionJti(jti: string, exp: number, now: number): Promise<boolean>;
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
    const seen = this.assertions.get(jti);
    if (seen !== undefined && seen >= now) return false;
    this.assertions.set(jti, exp);
    if (++this.uses % ASSERTION_PURGE_EVERY === 0) {
      for (const [k, e] of this.assertions) if (e < now) this.assertions.delete(k);
    }
    return true;
  }
  async close(): Promise<void> {}
}

const DDL = `
CREATE TABLE IF NOT EXISTS principals (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revocations (jti TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assertion_jtis (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
`;

/** The registry in the ledger's own SQLite file (separate tables, same database). */
export class SqliteRegistryStore implements RegistryStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
  private uses = 0;

  constructor(private readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(DDL);
    this.stmts = {
      principals: this.db.prepare<[], { body: string }>('SELECT body FROM principals ORDER BY id'),
      savePrincipal: this.db.prepare(
        'INSERT INTO principals (id, body) VALUES (?, ?) ON CONFLICT (id) DO UPDATE SET body = excluded.body',
      ),
      revocations: this.db.prepare<[], { jti: string; at: number }>(
        'SELECT jti, at FROM revocations',
      ),
      saveRevocation: this.db.prepare('INSERT OR IGNORE INTO revocations (jti, at) VALUES (?, ?)'),
      // Inserts a new jti or takes over an expired one; a live one changes no row.
      useAssertion: this.db.prepare(
        'INSERT INTO assertion_jtis (jti, exp) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET exp = excluded.exp WHERE assertion_jtis.exp < ?',
      ),
      purgeAssertions: this.db.prepare('DELETE FROM assertion_jtis WHERE exp < ?'),
    };
  }

  async listPrincipals(): Promise<Principal[]> {
    return this.stmts.principals.all().map((r) => JSON.parse(r.body) as Principal);
  }
  async savePrincipal(principal: Principal): Promise<void> {
    this.write(() => this.stmts.savePrincipal.run(principal.id, JSON.stringify(principal)));
  }
  async listRevocations(): Promise<Revocation[]> {
    return this.stmts.revocations.all();
  }
  async saveRevocation(jti: string, at: number): Promise<void> {
    this.write(() => this.stmts.saveRevocation.run(jti, at));
  }
  async useAssertionJti(jti: string, exp: number, now: number): Promise<boolean> {
    const { changes } = this.write(() => this.stmts.useAssertion.run(jti, exp, now));
    if (changes === 0) return false;
    if (++this.uses % ASSERTION_PURGE_EVERY === 0) {
      this.write(() => this.stmts.purgeAssertions.run(now));
    }
    return true;
  }
  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
  /** A full disk or a failing file is a StorageError (507/503 on the wire), never a raw one. */
  private write<T>(run: () => T): T {
    try {
      return run();
    } catch (e) {
      throw sqliteWriteError(e, this.file, 'The identity registry cannot be written now.');
    }
  }
}
