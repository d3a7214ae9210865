/**
 * `@provenant/ledger/sqlite`: the embedded SQLite driver (better-sqlite3). Importing the package
 * root never loads `better-sqlite3`; only this entry does.
 */
export { SqliteStorage } from './storage.js';
export type { SqliteStorageOptions } from './storage.js';
export { sqliteWriteError } from './errors.js';
