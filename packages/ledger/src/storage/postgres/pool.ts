import pg from 'pg';
import { StorageError } from '../errors.js';
import { LOCK_MIGRATE } from './schema.js';
import type { Migration } from './schema.js';

// BIGINT columns come back as JS numbers: leaf indices and microsecond times stay far below
// 2^53. Only this driver's pools use these parsers (pg's global defaults are left alone).
const INT8_OID = 20;
export const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format: 'text' | 'binary' = 'text') =>
    oid === INT8_OID && format === 'text'
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresPoolOptions {
  /** Connections in the pool; default 8. */
  readonly poolSize?: number;
  /** Connection timeout, ms; default 5000. */
  readonly connectTimeoutMs?: number;
  /** Called with errors of idle connections (e.g. the server restarted); default: ignored. */
  readonly onPoolError?: (error: Error) => void;
  /** Every transaction read-only (enforced by the server). */
  readonly readOnly?: boolean;
}

/** A pool with this driver's type parsers and an error handler for idle connections. */
export function createPostgresPool(url: string, options: PostgresPoolOptions = {}): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 8,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
    types,
    ...(options.readOnly ? { options: '-c default_transaction_read_only=on' } : {}),
  });
  // Without a listener, an idle connection's error (server restart) would crash the process.
  pool.on('error', (e) => options.onPoolError?.(e));
  // The pool listens only to idle connections: one checked out between two queries of a
  // transaction would throw its 'error' event (the server going away) out of the process. The
  // failure reaches the caller anyway, through the query it is running or its next one.
  pool.on('connect', (client) => client.on('error', (e) => options.onPoolError?.(e)));
  return pool;
}

/**
 * Applies `migrations` (index i brings schema `component` to version i + 1) in one transaction
 * under an advisory lock; refuses a database whose schema is newer than this code.
 */
export async function migratePostgres(
  pool: pg.Pool,
  migrations: readonly Migration[],
  component: string,
): Promise<void> {
  const client = await pool.connect();
  let broken = false;
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_MIGRATE.toString()]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS provenant_schema (component TEXT PRIMARY KEY, version INTEGER NOT NULL)',
    );
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM provenant_schema WHERE component = $1',
      [component],
    );
    const current = rows[0]?.version ?? 0;
    if (current > migrations.length) {
      throw new StorageError(
        'storage_corrupt',
        `The PostgreSQL ${component} schema is at version ${current}, newer than this Provenant (${migrations.length}); refusing to run.`,
      );
    }
    for (let v = current; v < migrations.length; v++) {
      const step = migrations[v]!;
      if (typeof step === 'string') await client.query(step);
      else await step(client);
    }
    if (current < migrations.length) {
      await client.query(
        `INSERT INTO provenant_schema (component, version) VALUES ($1, $2)
         ON CONFLICT (component) DO UPDATE SET version = excluded.version`,
        [component, migrations.length],
      );
    }
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => {
      broken = true;
    });
    throw e;
  } finally {
    client.release(broken);
  }
}

/**
 * Read-only opening: the ledger schema must exist and not be newer than this code. Returns its
 * version.
 */
export async function checkSchemaReadable(
  pool: pg.Pool,
  known: number,
  component: string,
): Promise<number> {
  const { rows } = await pool
    .query<{ version: number }>('SELECT version FROM provenant_schema WHERE component = $1', [
      component,
    ])
    .catch(() => ({ rows: [] as { version: number }[] }));
  const version = rows[0]?.version;
  if (version === undefined) {
    throw new StorageError('storage_unavailable', `The database holds no Provenant ${component}.`);
  }
  if (version > known) {
    throw new StorageError(
      'storage_corrupt',
      `The PostgreSQL ${component} schema is at version ${version}, newer than this Provenant (${known}).`,
    );
  }
  return version;
}

/** Rolls back; true if the connection is broken (then it must not go back to the pool). */
export async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return false;
  } catch {
    return true;
  }
}

export function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

/** Runs `fn` on a pooled connection; a failed one is dropped, not returned to the pool. */
export async function withClient<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  try {
    return await fn(client);
  } catch (e) {
    broken = true;
    throw e;
  } finally {
    client.release(broken);
  }
}
