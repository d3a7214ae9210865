import Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import type { Principal } from '@provenant/identity';

/**
 * Where the identity state lives: principals, revoked credentials, and the client-assertion
 * `jti`s already used (so a replay is refused across restarts too). Synchronous, because the
 * identity checks on the ingest path read an in-memory cache that this store backs.
 */
export interface RegistryStore {
  readonly kind: string;
  listPrincipals(): Principal[];
  savePrincipal(principal: Principal): void;
  listRevocations(): { jti: string; at: number }[];
  saveRevocation(jti: string, at: number): void;
  /** Records a client-assertion jti; false when it was used before and has not expired. */
  useAssertionJti(jti: string, exp: number, now: number): boolean;
  close(): void;
}

export class MemoryRegistryStore implements RegistryStore {
  readonly kind = 'memory';
  private readonly principals = new Map<string, Principal>();
  private readonly revocations = new Map<string, number>();
  private readonly assertions = new Map<string, number>();

  listPrincipals(): Principal[] {
    return [...this.principals.values()];
  }
  savePrincipal(principal: Principal): void {
    this.principals.set(principal.id, principal);
  }
  listRevocations(): { jti: string; at: number }[] {
    return [...this.revocations].map(([jti, at]) => ({ jti, at }));
  }
  saveRevocation(jti: string, at: number): void {
    if (!this.revocations.has(jti)) this.revocations.set(jti, at);
  }
  useAssertionJti(jti: string, exp: number, now: number): boolean {
    const seen = this.assertions.get(jti);
    if (seen !== undefined && seen >= now) return false;
    this.assertions.set(jti, exp);
    if (this.assertions.size > 100_000) {
      for (const [k, e] of this.assertions) if (e < now) this.assertions.delete(k);
    }
    return true;
  }
  close(): void {}
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
      assertion: this.db.prepare<[string], { exp: number }>(
        'SELECT exp FROM assertion_jtis WHERE jti = ?',
      ),
      saveAssertion: this.db.prepare(
        'INSERT INTO assertion_jtis (jti, exp) VALUES (?, ?) ON CONFLICT (jti) DO UPDATE SET exp = excluded.exp',
      ),
      purgeAssertions: this.db.prepare('DELETE FROM assertion_jtis WHERE exp < ?'),
    };
  }

  listPrincipals(): Principal[] {
    return this.stmts.principals.all().map((r) => JSON.parse(r.body) as Principal);
  }
  savePrincipal(principal: Principal): void {
    this.write(() => this.stmts.savePrincipal.run(principal.id, JSON.stringify(principal)));
  }
  listRevocations(): { jti: string; at: number }[] {
    return this.stmts.revocations.all();
  }
  saveRevocation(jti: string, at: number): void {
    this.write(() => this.stmts.saveRevocation.run(jti, at));
  }
  useAssertionJti(jti: string, exp: number, now: number): boolean {
    const seen = this.stmts.assertion.get(jti);
    if (seen && seen.exp >= now) return false;
    this.write(() => this.stmts.saveAssertion.run(jti, exp));
    if (++this.uses % 1000 === 0) this.write(() => this.stmts.purgeAssertions.run(now));
    return true;
  }
  close(): void {
    if (this.db.open) this.db.close();
  }
  /** A full disk or a failing file is a StorageError (507/503 on the wire), never a raw one. */
  private write(run: () => unknown): void {
    try {
      run();
    } catch (e) {
      throw sqliteWriteError(e, this.file, 'The identity registry cannot be written now.');
    }
  }
}
