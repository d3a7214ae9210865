import Database from 'better-sqlite3';
import { sqliteWriteError } from '@provenant/ledger/sqlite';
import type { Decision, PolicySetSource } from '@provenant/policy';

/**
 * Policy history: every policy set version the decision point ever loaded, by content digest
 * (so a recorded decision can always be replayed), and every decision with its request.
 */
export interface PolicyStore {
  savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): void;
  getPolicySet(digest: string): PolicySetSource | null;
  saveDecision(decision: Decision): void;
  getDecision(id: string): Decision | null;
  /** Stores shared by several collectors: make these decisions readable by `getDecision`. */
  ensureDecisions?(ids: readonly string[]): Promise<void>;
  close(): void;
}

export class MemoryPolicyStore implements PolicyStore {
  private readonly sets = new Map<string, PolicySetSource>();
  private readonly decisions = new Map<string, Decision>();
  savePolicySet(digest: string, source: PolicySetSource): void {
    if (!this.sets.has(digest)) this.sets.set(digest, source);
  }
  getPolicySet(digest: string): PolicySetSource | null {
    return this.sets.get(digest) ?? null;
  }
  saveDecision(decision: Decision): void {
    this.decisions.set(decision.decision_id, decision);
  }
  getDecision(id: string): Decision | null {
    return this.decisions.get(id) ?? null;
  }
  close(): void {}
}

const DDL = `
CREATE TABLE IF NOT EXISTS policy_sets (digest TEXT PRIMARY KEY, source TEXT NOT NULL, loaded_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS decisions (decision_id TEXT PRIMARY KEY, body TEXT NOT NULL);
`;

export class SqlitePolicyStore implements PolicyStore {
  private readonly db: Database.Database;
  private readonly stmts;
  constructor(private readonly file: string) {
    this.db = new Database(file);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(DDL);
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
  savePolicySet(digest: string, source: PolicySetSource, loadedAt: number): void {
    this.write(() => this.stmts.saveSet.run(digest, JSON.stringify(source), loadedAt));
  }
  getPolicySet(digest: string): PolicySetSource | null {
    const row = this.stmts.getSet.get(digest);
    return row ? (JSON.parse(row.source) as PolicySetSource) : null;
  }
  saveDecision(decision: Decision): void {
    this.write(() => this.stmts.saveDecision.run(decision.decision_id, JSON.stringify(decision)));
  }
  getDecision(id: string): Decision | null {
    const row = this.stmts.getDecision.get(id);
    return row ? (JSON.parse(row.body) as Decision) : null;
  }
  /** A full disk or a failing file is a StorageError (507/503 on the wire), never a raw one. */
  private write(run: () => unknown): void {
    try {
      run();
    } catch (e) {
      throw sqliteWriteError(e, this.file, 'The policy history cannot be written now.');
    }
  }
  close(): void {
    if (this.db.open) this.db.close();
  }
}
