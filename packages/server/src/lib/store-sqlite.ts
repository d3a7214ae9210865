import Database from 'better-sqlite3';

/**
 * A store's connection to the collector's SQLite file (the ledger's file: the stores add their
 * tables beside it): WAL, every commit fsynced, and a wait on the ledger's writer rather than
 * an immediate SQLITE_BUSY. Then `ddl` creates the store's tables if they are missing.
 */
export function openStoreDatabase(file: string, ddl: string): Database.Database {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.exec(ddl);
  return db;
}
