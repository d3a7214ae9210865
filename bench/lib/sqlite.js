// Bare better-sqlite3, for the floors: the same driver the ledger uses, resolved from it.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { ROOT, removeDir, tempDir } from './util.js';

const require = createRequire(join(ROOT, 'packages', 'ledger', 'package.json'));
export const Database = require('better-sqlite3');

/**
 * The `entries` table and its indexes exactly as the ledger's SQLite driver creates them, read
 * back from a fresh ledger file so the floor follows any change to the driver's DDL.
 */
export function entriesDdl() {
  const dir = tempDir('ddl');
  try {
    const file = join(dir, 'ledger.db');
    void new SqliteStorage(file).close();
    const db = new Database(file, { readonly: true });
    const rows = db
      .prepare(
        "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'entries' AND sql IS NOT NULL ORDER BY type = 'index', name",
      )
      .all();
    db.close();
    return rows.map((r) => r.sql);
  } finally {
    removeDir(dir);
  }
}
