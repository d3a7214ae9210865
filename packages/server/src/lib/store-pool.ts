import {
  createPostgresPool,
  migratePostgres,
  postgresWriteError,
} from '@provenant/ledger/postgres';

type Pool = ReturnType<typeof createPostgresPool>;

/**
 * The connections of one of the collector's PostgreSQL stores (registry, policy history):
 * migrated when opened, every failed statement a StorageError, closed once.
 */
export class StorePool {
  private closed: Promise<void> | null = null;

  private constructor(
    private readonly pool: Pool,
    private readonly unavailable: string,
  ) {}

  /** Opens a small pool on `url` and applies `migrations` of `component`. */
  static async open(
    url: string,
    migrations: readonly string[],
    component: string,
    unavailable: string,
  ): Promise<StorePool> {
    const pool = createPostgresPool(url, { poolSize: 2 });
    try {
      await migratePostgres(pool, migrations, component);
      return new StorePool(pool, unavailable);
    } catch (e) {
      await pool.end().catch(() => {});
      throw e;
    }
  }

  /** Runs one statement (committed on its own); a failure is storage_unavailable or storage_full. */
  async query<R extends Record<string, unknown>>(sql: string, params: unknown[] = []) {
    try {
      return await this.pool.query<R>(sql, params);
    } catch (e) {
      throw postgresWriteError(e, this.unavailable);
    }
  }

  /** Closes the pool once (a second call waits for the first). */
  close(): Promise<void> {
    return (this.closed ??= this.pool.end());
  }
}
