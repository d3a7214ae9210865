import type Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import { openStoreDatabase } from '../lib/store-sqlite.js';
import type { Principal } from '@provenant/identity';
import { ASSERTION_PURGE_EVERY } from './registry.js';
import type { RegistryStore, Revocation } from './registry.js';

const DDL = `
CREATE TABLE IF NOT EXISTS principals (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS revocations (jti TEXT PRIMARY KEY, at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS assertion_jtis (jti TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS id_token_uses (key TEXT PRIMARY KEY, exp INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS jwt_grant_uses (key TEXT PRIMARY KEY, exp INTEGER NOT NULL);
`;

/** The registry in the ledger's own SQLite file (separate tables, same database). */
export class SqliteRegistryStore implements RegistryStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
  private uses = 0;

  constructor(private readonly file: string) {
    this.db = openStoreDatabase(file, DDL);
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
      useIdToken: this.db.prepare(
        'INSERT INTO id_token_uses (key, exp) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET exp = excluded.exp WHERE id_token_uses.exp < ?',
      ),
      purgeIdTokens: this.db.prepare('DELETE FROM id_token_uses WHERE exp < ?'),
      useGrant: this.db.prepare(
        'INSERT INTO jwt_grant_uses (key, exp) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET exp = excluded.exp WHERE jwt_grant_uses.exp < ?',
      ),
      purgeGrants: this.db.prepare('DELETE FROM jwt_grant_uses WHERE exp < ?'),
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
    return this.useOnce(this.stmts.useAssertion, jti, exp, now);
  }
  async useIdToken(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce(this.stmts.useIdToken, key, exp, now);
  }
  async useGrantJti(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce(this.stmts.useGrant, key, exp, now);
  }
  private useOnce(use: Database.Statement, id: string, exp: number, now: number): boolean {
    const { changes } = this.write(() => use.run(id, exp, now));
    if (changes === 0) return false;
    if (++this.uses % ASSERTION_PURGE_EVERY === 0) {
      this.write(() => {
        this.stmts.purgeAssertions.run(now);
        this.stmts.purgeIdTokens.run(now);
        this.stmts.purgeGrants.run(now);
      });
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
