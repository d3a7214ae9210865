import type Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import { openStoreDatabase } from '../lib/store-sqlite.js';
import type { Decision, PolicySetSource } from '@provenant/policy';
import type { PolicyStore } from './store.js';

const DDL = `
CREATE TABLE IF NOT EXISTS policy_sets (digest TEXT PRIMARY KEY, source TEXT NOT NULL, loaded_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, body TEXT NOT NULL);
`;

/** Policy history in the ledger's own SQLite file (separate tables, same database). */
export class SqlitePolicyStore implements PolicyStore {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly stmts;
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
    };
  }
  async savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): Promise<void> {
    this.write(() => this.stmts.saveSet.run(digest, JSON.stringify(source), loadedAt));
  }
  async getPolicySet(digest: string): Promise<PolicySetSource | null> {
    const row = this.stmts.getSet.get(digest);
    return row ? (JSON.parse(row.source) as PolicySetSource) : null;
  }
  async saveDecision(decision: Decision): Promise<void> {
    this.write(() => this.stmts.saveDecision.run(decision.decision_id, JSON.stringify(decision)));
  }
  async getDecisions(ids: readonly string[]): Promise<Decision[]> {
    return [...new Set(ids)].flatMap((id) => {
      const row = this.stmts.getDecision.get(id);
      return row ? [JSON.parse(row.body) as Decision] : [];
    });
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
    if (this.db.open) this.db.close();
  }
}
