import { StorePool } from '../lib/store-pool.js';
import type { Principal } from '@provenant/identity';
import { ASSERTION_PURGE_EVERY } from './registry.js';
import type { RegistryStore, Revocation } from './registry.js';

const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE registry_principals (id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE registry_revocations (jti TEXT PRIMARY KEY, at BIGINT NOT NULL);
CREATE TABLE registry_assertion_jtis (jti TEXT PRIMARY KEY, exp BIGINT NOT NULL);
`,
  `
CREATE TABLE registry_id_token_uses (key TEXT PRIMARY KEY, exp BIGINT NOT NULL);
`,
  `
CREATE TABLE registry_jwt_grant_uses (key TEXT PRIMARY KEY, exp BIGINT NOT NULL);
`,
];

/**
 * The identity registry in PostgreSQL. Each call is one statement, committed before it
 * resolves. Several collectors may share the database (`--cluster`): a client-assertion jti is
 * taken in one atomic upsert, so a replay to another collector is refused too.
 */
export class PostgresRegistryStore implements RegistryStore {
  readonly kind = 'postgres';
  private uses = 0;

  private constructor(private readonly pool: StorePool) {}

  static async open(url: string): Promise<PostgresRegistryStore> {
    return new PostgresRegistryStore(
      await StorePool.open(
        url,
        MIGRATIONS,
        'registry',
        'The identity registry in PostgreSQL is unavailable.',
      ),
    );
  }

  async listPrincipals(): Promise<Principal[]> {
    const { rows } = await this.pool.query<{ body: string }>(
      'SELECT body FROM registry_principals ORDER BY id COLLATE "C"',
    );
    return rows.map((r) => JSON.parse(r.body) as Principal);
  }
  async savePrincipal(principal: Principal): Promise<void> {
    await this.pool.query(
      `INSERT INTO registry_principals (id, body) VALUES ($1, $2)
       ON CONFLICT (id) DO UPDATE SET body = excluded.body`,
      [principal.id, JSON.stringify(principal)],
    );
  }
  async listRevocations(): Promise<Revocation[]> {
    const { rows } = await this.pool.query<{ jti: string; at: number }>(
      'SELECT jti, at FROM registry_revocations',
    );
    return rows;
  }
  async saveRevocation(jti: string, at: number): Promise<void> {
    await this.pool.query(
      'INSERT INTO registry_revocations (jti, at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING',
      [jti, at],
    );
  }
  async useAssertionJti(jti: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce('registry_assertion_jtis', 'jti', jti, exp, now);
  }
  async useIdToken(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce('registry_id_token_uses', 'key', key, exp, now);
  }
  async useGrantJti(key: string, exp: number, now: number): Promise<boolean> {
    return this.useOnce('registry_jwt_grant_uses', 'key', key, exp, now);
  }
  private async useOnce(
    table: 'registry_assertion_jtis' | 'registry_id_token_uses' | 'registry_jwt_grant_uses',
    column: 'jti' | 'key',
    id: string,
    exp: number,
    now: number,
  ): Promise<boolean> {
    // Inserts a new id or takes over an expired one; a live one changes no row.
    const { rowCount } = await this.pool.query(
      `INSERT INTO ${table} (${column}, exp) VALUES ($1, $2)
       ON CONFLICT (${column}) DO UPDATE SET exp = excluded.exp WHERE ${table}.exp < $3`,
      [id, exp, now],
    );
    if (rowCount === 0) return false;
    if (++this.uses % ASSERTION_PURGE_EVERY === 0) {
      await this.pool.query('DELETE FROM registry_assertion_jtis WHERE exp < $1', [now]);
      await this.pool.query('DELETE FROM registry_id_token_uses WHERE exp < $1', [now]);
      await this.pool.query('DELETE FROM registry_jwt_grant_uses WHERE exp < $1', [now]);
    }
    return true;
  }
  close(): Promise<void> {
    return this.pool.close();
  }
}
