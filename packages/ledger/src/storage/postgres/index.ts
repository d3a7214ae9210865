/**
 * `@provenant/ledger/postgres`: the PostgreSQL driver (node-postgres). Importing the package root
 * never loads `pg`; only this entry does.
 */
export { PostgresStorage } from './storage.js';
export type { PostgresStorageOptions } from './storage.js';
export { POSTGRES_SCHEMA_VERSION } from './schema.js';
export { createPostgresPool, migratePostgres } from './pool.js';
export type { PostgresPoolOptions } from './pool.js';
export { PostgresLease } from './lease.js';
export { postgresWriteError } from './errors.js';
export type { PostgresLeaseOptions } from './lease.js';
