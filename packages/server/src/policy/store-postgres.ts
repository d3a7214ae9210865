import { StorePool } from '../lib/store-pool.js';
import type { Decision, PolicySetSource } from '@provenant/policy';
import type { PolicyStore } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE policy_sets (digest TEXT PRIMARY KEY, source TEXT NOT NULL, loaded_at BIGINT NOT NULL);
CREATE TABLE policy_decisions (
  seq BIGSERIAL UNIQUE,
  decision_id TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
`,
];

/**
 * Policy history in PostgreSQL, shared by every collector of a cluster: a decision one of them
 * made is found by the others (the cache asks the database for what it does not hold). Each
 * call is one statement, committed before it resolves.
 */
export class PostgresPolicyStore implements PolicyStore {
  readonly kind = 'postgres';

  private constructor(private readonly pool: StorePool) {}

  static async open(url: string): Promise<PostgresPolicyStore> {
    return new PostgresPolicyStore(
      await StorePool.open(
        url,
        MIGRATIONS,
        'policy',
        'The policy history in PostgreSQL is unavailable.',
      ),
    );
  }

  async savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): Promise<void> {
    await this.pool.query(
      `INSERT INTO policy_sets (digest, source, loaded_at) VALUES ($1, $2, $3)
       ON CONFLICT (digest) DO NOTHING`,
      [digest, JSON.stringify(source), loadedAt],
    );
  }
  async getPolicySet(digest: string): Promise<PolicySetSource | null> {
    const { rows } = await this.pool.query<{ source: string }>(
      'SELECT source FROM policy_sets WHERE digest = $1',
      [digest],
    );
    return rows[0] ? (JSON.parse(rows[0].source) as PolicySetSource) : null;
  }
  async saveDecision(decision: Decision): Promise<void> {
    await this.pool.query(
      'INSERT INTO policy_decisions (decision_id, body) VALUES ($1, $2) ON CONFLICT (decision_id) DO NOTHING',
      [decision.decision_id, JSON.stringify(decision)],
    );
  }
  async getDecisions(ids: readonly string[]): Promise<Decision[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<{ body: string }>(
      'SELECT body FROM policy_decisions WHERE decision_id = ANY($1::text[])',
      [[...ids]],
    );
    return rows.map((r) => JSON.parse(r.body) as Decision);
  }
  close(): Promise<void> {
    return this.pool.close();
  }
}
