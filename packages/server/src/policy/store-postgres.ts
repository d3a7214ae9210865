import { createPostgresPool, migratePostgres } from '@provenant/ledger/postgres';
import type { Decision, PolicySetSource } from '@provenant/policy';
import { WriteQueue } from '../identity/registry-postgres.js';
import type { PolicyStore } from './store.js';

type Pool = ReturnType<typeof createPostgresPool>;

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

/** How many decision sequence numbers below the highest seen `sync` reads again. */
const SYNC_OVERLAP = 1000;

/** Decisions kept in memory for the synchronous reads (correlation on ingest, explain). */
export const DEFAULT_DECISION_CACHE = 100_000;

/**
 * Policy history in PostgreSQL. Reads are synchronous (the ingest path correlates records with
 * decisions), so every policy set and the most recent decisions (`decisionCache`, loaded newest
 * first at start) are held in memory; every write goes through to the database (WriteQueue:
 * committed before the collector answers). A decision older than the cache is still stored, but
 * `getDecision` no longer finds it (SQLite's store has no such limit).
 */
export class PostgresPolicyStore implements PolicyStore {
  private readonly sets = new Map<string, PolicySetSource>();
  private readonly decisions = new Map<string, Decision>();
  private readonly writes: WriteQueue;
  /** Highest decision `seq` read from the database (for `sync`). */
  private lastSeq = 0;

  private constructor(
    private readonly pool: Pool,
    private readonly decisionCache: number,
  ) {
    this.writes = new WriteQueue(pool);
  }

  static async open(
    url: string,
    options: { decisionCache?: number } = {},
  ): Promise<PostgresPolicyStore> {
    const pool = createPostgresPool(url, { poolSize: 2 });
    try {
      await migratePostgres(pool, MIGRATIONS, 'policy');
      const store = new PostgresPolicyStore(pool, options.decisionCache ?? DEFAULT_DECISION_CACHE);
      const sets = await pool.query<{ digest: string; source: string }>(
        'SELECT digest, source FROM policy_sets',
      );
      for (const r of sets.rows) store.sets.set(r.digest, JSON.parse(r.source) as PolicySetSource);
      const decisions = await pool.query<{ seq: number; body: string }>(
        'SELECT seq, body FROM (SELECT seq, body FROM policy_decisions ORDER BY seq DESC LIMIT $1) d ORDER BY seq',
        [store.decisionCache],
      );
      for (const r of decisions.rows) {
        store.cacheDecision(JSON.parse(r.body) as Decision);
        store.lastSeq = Math.max(store.lastSeq, Number(r.seq));
      }
      return store;
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
  }

  savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): void {
    if (this.sets.has(digest)) return;
    this.sets.set(digest, source);
    this.writes.push(
      `INSERT INTO policy_sets (digest, source, loaded_at) VALUES ($1, $2, $3)
       ON CONFLICT (digest) DO NOTHING`,
      [digest, JSON.stringify(source), loadedAt],
    );
  }
  getPolicySet(digest: string): PolicySetSource | null {
    return this.sets.get(digest) ?? null;
  }
  saveDecision(decision: Decision): void {
    if (this.decisions.has(decision.decision_id)) return;
    this.cacheDecision(decision);
    this.writes.push(
      'INSERT INTO policy_decisions (decision_id, body) VALUES ($1, $2) ON CONFLICT (decision_id) DO NOTHING',
      [decision.decision_id, JSON.stringify(decision)],
    );
  }
  getDecision(id: string): Decision | null {
    return this.decisions.get(id) ?? null;
  }

  /**
   * Several collectors: reads the decisions and policy sets other collectors stored since the
   * last call. Sequence numbers are taken before commit, so a window of recent ones is re-read
   * (a decision committed late under a lower number is not missed).
   */
  async sync(): Promise<void> {
    const { rows } = await this.pool.query<{ seq: number; body: string }>(
      'SELECT seq, body FROM policy_decisions WHERE seq > $1 ORDER BY seq LIMIT 10000',
      [Math.max(0, this.lastSeq - SYNC_OVERLAP)],
    );
    for (const r of rows) {
      const d = JSON.parse(r.body) as Decision;
      if (!this.decisions.has(d.decision_id)) this.cacheDecision(d);
      this.lastSeq = Math.max(this.lastSeq, Number(r.seq));
    }
    const sets = await this.pool.query<{ digest: string; source: string }>(
      'SELECT digest, source FROM policy_sets WHERE NOT (digest = ANY($1::text[]))',
      [[...this.sets.keys()]],
    );
    for (const r of sets.rows) this.sets.set(r.digest, JSON.parse(r.source) as PolicySetSource);
  }

  /** Loads these decisions from the database if the cache lacks them (made elsewhere, or old). */
  async ensureDecisions(ids: readonly string[]): Promise<void> {
    const missing = ids.filter((id) => !this.decisions.has(id));
    if (missing.length === 0) return;
    const { rows } = await this.pool.query<{ body: string }>(
      'SELECT body FROM policy_decisions WHERE decision_id = ANY($1::text[])',
      [missing],
    );
    for (const r of rows) this.cacheDecision(JSON.parse(r.body) as Decision);
  }

  private cacheDecision(decision: Decision): void {
    this.decisions.set(decision.decision_id, decision);
    if (this.decisions.size > this.decisionCache) {
      // Maps iterate in insertion order: drop the oldest.
      const oldest = this.decisions.keys().next();
      if (!oldest.done) this.decisions.delete(oldest.value);
    }
  }
  /** Resolves once every change so far is committed; rejects if one failed. */
  flush(): Promise<void> {
    return this.writes.flush();
  }
  get idle(): boolean {
    return this.writes.idle;
  }
  close(): void {
    void this.end();
  }
  end(): Promise<void> {
    return this.writes.end();
  }
}
