import { StorePool } from '../lib/store-pool.js';
import type { Decision, PolicySetSource } from '@provenant/policy';
import type { DecisionUse, PolicyStore } from './store.js';

const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE policy_sets (digest TEXT PRIMARY KEY, source TEXT NOT NULL, loaded_at BIGINT NOT NULL);
CREATE TABLE policy_decisions (
  seq BIGSERIAL UNIQUE,
  decision_id TEXT PRIMARY KEY,
  body TEXT NOT NULL
);
`,
  `
CREATE TABLE policy_decision_uses (
  decision_id TEXT PRIMARY KEY,
  first_record TEXT NOT NULL,
  first_pending BOOLEAN NOT NULL,
  outcome_record TEXT
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
  /** Each statement is atomic on its row: of two members racing, one inserts or updates. */
  async claimDecisionUse(use: DecisionUse): Promise<boolean> {
    const first = await this.pool.query(
      `INSERT INTO policy_decision_uses (decision_id, first_record, first_pending)
       VALUES ($1, $2, $3) ON CONFLICT (decision_id) DO NOTHING RETURNING decision_id`,
      [use.decisionId, use.recordId, use.pending],
    );
    if (first.rows.length === 1) return true;
    if (!use.pending && use.follows !== null) {
      const outcome = await this.pool.query(
        `UPDATE policy_decision_uses SET outcome_record = $1
         WHERE decision_id = $2 AND first_record = $3 AND first_pending AND outcome_record IS NULL
         RETURNING decision_id`,
        [use.recordId, use.decisionId, use.follows],
      );
      if (outcome.rows.length === 1) return true;
    }
    const { rows } = await this.pool.query<{ first_record: string; outcome_record: string | null }>(
      'SELECT first_record, outcome_record FROM policy_decision_uses WHERE decision_id = $1',
      [use.decisionId],
    );
    return rows[0]?.first_record === use.recordId || rows[0]?.outcome_record === use.recordId;
  }
  close(): Promise<void> {
    return this.pool.close();
  }
}
