import type Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import { openStoreDatabase } from '../lib/store-sqlite.js';
import type { Decision, PolicySetSource } from '@provenant/policy';
import type { DecisionUse, PolicyStore } from './store.js';

const DDL = `
CREATE TABLE IF NOT EXISTS policy_sets (digest TEXT PRIMARY KEY, source TEXT NOT NULL, loaded_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS decision_uses (
  decision_id TEXT PRIMARY KEY,
  first_record TEXT NOT NULL,
  first_pending INTEGER NOT NULL,
  outcome_record TEXT
);
`;

/** Policy history in the ledger's own SQLite file (separate tables, same database). */
export class SqlitePolicyStore implements PolicyStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
  private readonly claim: (use: DecisionUse) => boolean;
  private readonly saveAll: (decisions: readonly Decision[]) => void;
  /** Decisions waiting for the next group commit, and that commit. */
  private queued: Decision[] = [];
  private commit: Promise<void> | null = null;
  constructor(private readonly file: string) {
    this.db = openStoreDatabase(file, DDL);
    this.stmts = {
      saveSet: this.db.prepare(
        'INSERT OR IGNORE INTO policy_sets (digest, source, loaded_at) VALUES (?, ?, ?)',
      ),
      getSet: this.db.prepare<[string], { source: string }>(
        'SELECT source FROM policy_sets WHERE digest = ?',
      ),
      saveDecision: this.db.prepare(
        'INSERT OR IGNORE INTO decisions (decision_id, body) VALUES (?, ?)',
      ),
      getDecision: this.db.prepare<[string], { body: string }>(
        'SELECT body FROM decisions WHERE decision_id = ?',
      ),
      firstUse: this.db.prepare(
        'INSERT OR IGNORE INTO decision_uses (decision_id, first_record, first_pending) VALUES (?, ?, ?)',
      ),
      outcomeUse: this.db.prepare(
        `UPDATE decision_uses SET outcome_record = ?
         WHERE decision_id = ? AND first_record = ? AND first_pending = 1 AND outcome_record IS NULL`,
      ),
      getUse: this.db.prepare<[string], { first_record: string; outcome_record: string | null }>(
        'SELECT first_record, outcome_record FROM decision_uses WHERE decision_id = ?',
      ),
    };
    // One immediate transaction: no other writer of the file claims between the statements.
    this.claim = this.db
      .transaction((use: DecisionUse): boolean => {
        const s = this.stmts;
        if (s.firstUse.run(use.decisionId, use.recordId, use.pending ? 1 : 0).changes === 1) {
          return true;
        }
        if (!use.pending && use.follows !== null) {
          if (s.outcomeUse.run(use.recordId, use.decisionId, use.follows).changes === 1)
            return true;
        }
        const row = s.getUse.get(use.decisionId);
        return row?.first_record === use.recordId || row?.outcome_record === use.recordId;
      })
      .immediate.bind(null);
    this.saveAll = this.db.transaction((decisions: readonly Decision[]) => {
      for (const d of decisions) this.stmts.saveDecision.run(d.decision_id, JSON.stringify(d));
    });
  }
  async savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): Promise<void> {
    this.write(() => this.stmts.saveSet.run(digest, JSON.stringify(source), loadedAt));
  }
  async getPolicySet(digest: string): Promise<PolicySetSource | null> {
    const row = this.stmts.getSet.get(digest);
    return row ? (JSON.parse(row.source) as PolicySetSource) : null;
  }
  /**
   * Group commit: the decisions saved in one turn of the event loop are written in one
   * transaction (one fsync) on the next, never inside the caller's call (a synchronous write
   * with its fsync blocked the event loop ~1 ms a decision: 42% of the collector's CPU under
   * AuthZEN evaluations). Resolves once that transaction is durable.
   */
  saveDecision(decision: Decision): Promise<void> {
    this.queued.push(decision);
    this.commit ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => {
      const batch = this.queued;
      this.queued = [];
      this.commit = null;
      this.write(() => this.saveAll(batch));
    });
    return this.commit;
  }
  async getDecisions(ids: readonly string[]): Promise<Decision[]> {
    return [...new Set(ids)].flatMap((id) => {
      const row = this.stmts.getDecision.get(id);
      return row ? [JSON.parse(row.body) as Decision] : [];
    });
  }
  async claimDecisionUse(use: DecisionUse): Promise<boolean> {
    let allowed = false;
    this.write(() => (allowed = this.claim(use)));
    return allowed;
  }
  /** A full disk or a failing file is a StorageError (507/503 on the wire), never a raw one. */
  private write(run: () => unknown): void {
    try {
      run();
    } catch (e) {
      throw sqliteWriteError(e, this.file, 'The policy history cannot be written now.');
    }
  }
  async close(): Promise<void> {
    await this.commit?.catch(() => {});
    if (this.db.open) this.db.close();
  }
}
