import type pg from 'pg';
import type { TileId } from '../../tiles/layout.js';
import { COVERAGE_FLAG, bucketLifetimes } from '../coverage.js';
import type {
  CoverageCounts,
  CoverageFacts,
  CoverageIndex,
  CoverageRange,
  CoverageRule,
} from '../coverage.js';
import { StorageError, checkLeafIndices, checkTileWrites, checkpointConflict } from '../errors.js';
import { findMissingLeaf, toCheckpoint, toEntry } from '../rows.js';
import type { CheckpointRow, EntryRow } from '../rows.js';
import {
  hasConditions,
  leafBounds,
  planStreams,
  selectionConditions,
  streamsSql,
  usesSearch,
} from '../search.js';
import type { CoverageSql, Dialect, KeyReader } from '../search.js';
import type {
  AppendBatch,
  EntryCount,
  EntryFilter,
  EntrySelection,
  EnqueueOutcome,
  ExistingEntry,
  IngestQueue,
  LeafSource,
  LogState,
  LogStorage,
  PendingEntry,
  PendingLeaf,
  QueuedEntry,
  StoredCheckpoint,
  StoredEntry,
} from '../port.js';
import { appendError, postgresWriteError, closedError } from './errors.js';
import { resolveInDoubt } from './in-doubt.js';
import {
  checkSchemaReadable,
  createPostgresPool,
  migratePostgres,
  rollback,
  toBuffer,
} from './pool.js';
import type { PostgresPoolOptions } from './pool.js';
import {
  GET_QUEUED,
  MOVE_PENDING,
  PENDING_COUNT,
  READ_PENDING,
  READ_PENDING_LEAVES,
  enqueueInTransaction,
  facetArrays,
  toPendingLeaf,
  toQueued,
} from './queue.js';
import type { PendingLeafRow, PendingRow } from './queue.js';
import { ENTRY_COLUMNS, LOCK_APPEND, MIGRATIONS, READ_COLUMNS, TILES_VERSION } from './schema.js';
import { writeTiles } from './tiles.js';

export interface PostgresStorageOptions extends PostgresPoolOptions {
  /**
   * How long to keep asking whether a batch whose COMMIT answer was lost is stored, ms; default
   * 10000. Past it the append fails with outcome unknown.
   */
  readonly inDoubtMs?: number;
  /**
   * For verification: every transaction read-only (enforced by the server), no migration; a
   * schema newer than this code is still refused.
   */
  readonly readOnly?: boolean;
}

/**
 * PostgreSQL driver (node-postgres). One append is one transaction: it takes a transaction-level
 * advisory lock, checks the stored size, inserts every entry with one multi-row statement
 * (arrays unnested server-side), the hash tiles (new ones inserted, the partial ones extended:
 * ./tiles.ts), and the checkpoint, then commits. With
 * `synchronous_commit = on` (forced for appends where the server's default is off), COMMIT
 * returns only after the WAL is flushed, so `append` resolves only once the batch is durable.
 *
 * The primary keys on leaf_index and on checkpoint size make a fork impossible even if two
 * writers raced past the size check: the second transaction fails and stores nothing.
 */
/** Entries filled per statement by fillCoverageFacts. */
const FILL_BATCH = 1000;

export class PostgresStorage implements LogStorage, IngestQueue, CoverageIndex {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly inDoubtMs: number;
  /** The server's default is `synchronous_commit = off`: turn it on for appends. */
  private forceSyncCommit = false;
  private closed = false;

  /** False for an older database opened read-only: its tree is in ledger_nodes. */
  private hashTiles = true;

  private constructor(
    pool: pg.Pool,
    inDoubtMs: number,
    private readonly readOnly: boolean,
  ) {
    this.pool = pool;
    this.inDoubtMs = inDoubtMs;
  }

  /** Connects, applies pending migrations, and refuses a database of a newer schema. */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const pool = createPostgresPool(url, options);
    const storage = new PostgresStorage(
      pool,
      options.inDoubtMs ?? 10_000,
      options.readOnly === true,
    );
    try {
      if (options.readOnly) {
        const version = await checkSchemaReadable(pool, MIGRATIONS.length, 'ledger');
        storage.hashTiles = version >= TILES_VERSION;
        return storage;
      }
      await migratePostgres(pool, MIGRATIONS, 'ledger');
      const { rows } = await pool.query<{ s: string }>(
        "SELECT current_setting('synchronous_commit') AS s",
      );
      storage.forceSyncCommit = rows[0]?.s === 'off';
    } catch (e) {
      await pool.end().catch(() => {});
      throw postgresWriteError(e, 'Cannot open the PostgreSQL ledger.');
    }
    return storage;
  }

  async readState(): Promise<LogState> {
    const { rows } = await this.query<{ n: number | null } & Partial<CheckpointRow>>(
      `SELECT (SELECT max(leaf_index) FROM ledger_entries) AS n, c.size, c.root_hash, c.note
         FROM (SELECT 1) AS one
         LEFT JOIN LATERAL (SELECT size, root_hash, note FROM ledger_checkpoints ORDER BY size DESC LIMIT 1) AS c ON true`,
    );
    const row = rows[0];
    const n = row?.n;
    return {
      size: n === null || n === undefined ? 0 : n + 1,
      checkpoint:
        row && row.size !== null && row.size !== undefined
          ? { size: row.size, rootHash: row.root_hash!, note: row.note! }
          : null,
    };
  }

  async append(batch: AppendBatch): Promise<void> {
    if (this.closed) throw closedError();
    const client = await this.checkout();
    let broken = false;
    let committing = false;
    let inDoubt: Error | null = null;
    try {
      await client.query('BEGIN');
      // An acknowledgement means durable: never let a server default of "off" weaken that.
      if (this.forceSyncCommit) await client.query('SET LOCAL synchronous_commit = on');
      await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_APPEND.toString()]);
      const { rows } = await client.query<{ n: number | null }>(
        'SELECT max(leaf_index) AS n FROM ledger_entries',
      );
      const stored = (rows[0]?.n ?? -1) + 1;
      if (stored !== batch.fromSize) {
        throw new StorageError(
          'storage_conflict',
          `Batch built on size ${batch.fromSize} but the log has ${stored} entries.`,
        );
      }
      checkLeafIndices(batch);
      checkTileWrites(batch.tiles);
      const es = batch.entries;
      if (es.length > 0) {
        await client.query(
          `INSERT INTO ledger_entries (${ENTRY_COLUMNS}, cov_flags, cov_lifetime, cov_instance,
             action_name, resource, outcome)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::text[],
             $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
             $12::integer[], $13::float8[], $14::text[], $15::text[], $16::text[], $17::text[])`,
          [
            es.map((e) => e.leafIndex),
            es.map((e) => e.id),
            es.map((e) => e.canonical),
            es.map((e) => toBuffer(e.leafHash)),
            ...facetArrays(es),
          ],
        );
      }
      await writeTiles(client, batch.tiles);
      const c = batch.checkpoint;
      const { rowCount: added } = await client.query(
        // No upsert: one size has one checkpoint, ever (a second is a conflict, never a fork).
        `INSERT INTO ledger_checkpoints (size, root_hash, note) VALUES ($1, $2, $3)
         ON CONFLICT (size) DO NOTHING`,
        [c.size, toBuffer(c.rootHash), c.note],
      );
      if (added === 0) {
        // Write-once: the same checkpoint again (a batch of queued duplicates) changes nothing.
        const { rows: kept } = await client.query<{ note: string }>(
          'SELECT note FROM ledger_checkpoints WHERE size = $1',
          [c.size],
        );
        if (kept[0]?.note !== c.note) throw checkpointConflict(c.size);
      }
      const sequenced = batch.sequenced ?? [];
      if (sequenced.length > 0) {
        // Copied inside the database: the bytes never reach the sequencer (queue.ts).
        const { rowCount } = await client.query(MOVE_PENDING, [
          sequenced.map((q) => q.seq),
          sequenced.map((q) => q.leafIndex),
          sequenced.map((q) => toBuffer(q.leafHash)),
        ]);
        if (rowCount !== sequenced.length) {
          throw new StorageError(
            'storage_conflict',
            'Some queued entries of this batch are no longer queued with the leaf hash read.',
          );
        }
      }
      const dequeue = [...(batch.dequeue ?? []), ...sequenced.map((q) => q.seq)];
      if (dequeue.length > 0) {
        const { rowCount } = await client.query(
          'DELETE FROM ledger_pending WHERE seq = ANY($1::bigint[])',
          [dequeue],
        );
        if (rowCount !== dequeue.length) {
          throw new StorageError(
            'storage_conflict',
            'Some queued entries of this batch were already sequenced by another writer.',
          );
        }
      }
      committing = true;
      await client.query('COMMIT');
    } catch (e) {
      const code = (e as { code?: string }).code ?? '';
      if (committing && !/^(23|40)/.test(code)) {
        // The connection failed during COMMIT: the batch may or may not be stored. Find out
        // below (the checkpoint row is in the same transaction), so the log never acknowledges
        // a batch that is not stored nor loses track of one that is.
        broken = true;
        inDoubt = e as Error;
      } else {
        broken = await rollback(client);
        throw appendError(e);
      }
    } finally {
      client.release(broken);
    }
    if (inDoubt) {
      await resolveInDoubt(this.pool, batch, inDoubt, this.inDoubtMs, () => this.closed);
    }
  }

  /** A pooled connection for a transaction; storage_unavailable when none can be had. */
  private async checkout(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw postgresWriteError(e, 'The PostgreSQL ledger is unavailable.');
    }
  }

  async findExisting(ids: readonly string[]): Promise<Map<string, ExistingEntry>> {
    const found = new Map<string, ExistingEntry>();
    if (ids.length === 0) return found;
    const { rows } = await this.query<{ id: string; leaf_index: number; leaf_hash: Buffer }>(
      'SELECT id, leaf_index, leaf_hash FROM ledger_entries WHERE id = ANY($1::text[])',
      [ids],
    );
    for (const r of rows) found.set(r.id, { leafIndex: r.leaf_index, leafHash: r.leaf_hash });
    return found;
  }

  async getEntryById(id: string): Promise<StoredEntry | null> {
    const { rows } = await this.query<EntryRow>(
      `SELECT ${READ_COLUMNS} FROM ledger_entries WHERE id = $1`,
      [id],
    );
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async getEntries(start: number, count: number): Promise<StoredEntry[]> {
    const { rows } = await this.query<EntryRow>(
      `SELECT ${READ_COLUMNS} FROM ledger_entries
        WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index`,
      [start, start + count],
    );
    return rows.map(toEntry);
  }

  async readLeaves(start: number, count: number): Promise<LeafSource[]> {
    const { rows } = await this.query<{ i: number; d: Buffer; h: Buffer }>(
      `SELECT leaf_index AS i, convert_to(record, 'UTF8') AS d, leaf_hash AS h FROM ledger_entries
        WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index`,
      [start, start + count],
    );
    return rows.map((r) => ({ leafIndex: r.i, data: r.d, storedLeafHash: r.h }));
  }

  async getTiles(ids: readonly TileId[]): Promise<(Uint8Array | null)[]> {
    if (ids.length === 0) return [];
    if (!this.hashTiles) return Promise.all(ids.map((id) => this.legacyTile(id)));
    const { rows } = await this.query<{ l: number; i: number; h: Buffer }>(
      `SELECT t.level AS l, t.idx AS i, t.hashes AS h FROM ledger_tiles t
         JOIN unnest($1::smallint[], $2::bigint[]) AS w(level, idx)
           ON t.level = w.level AND t.idx = w.idx`,
      [ids.map((t) => t.level), ids.map((t) => t.index)],
    );
    const byKey = new Map<string, Buffer>();
    for (const r of rows) byKey.set(`${r.l}/${r.i}`, r.h);
    return ids.map(({ level, index }) => byKey.get(`${level}/${index}`) ?? null);
  }

  /**
   * A tile of a database from before schema 7 opened read-only (offline verification of an
   * older ledger): its hashes from the leaf hashes (level 0) or ledger_nodes, up to the first gap.
   */
  private async legacyTile({ level, index }: TileId): Promise<Uint8Array | null> {
    const { rows } = await this.query<{ i: number; h: Buffer }>(
      level === 0
        ? `SELECT leaf_index AS i, leaf_hash AS h FROM ledger_entries
            WHERE leaf_index >= $2 AND leaf_index < $3 AND $1::int = 0 ORDER BY leaf_index`
        : `SELECT idx AS i, hash AS h FROM ledger_nodes
            WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [8 * level, 256 * index, 256 * index + 256],
    );
    let n = 0;
    while (n < rows.length && Number(rows[n]!.i) === 256 * index + n) n++;
    return n === 0 ? null : Buffer.concat(rows.slice(0, n).map((r) => r.h));
  }

  async queryEntries(filter: EntryFilter): Promise<StoredEntry[]> {
    const q = await this.entriesQuery(filter);
    if (q === null) return [];
    return (await this.query<EntryRow>(q.sql, q.params)).rows.map(toEntry);
  }

  /** The plan PostgreSQL chooses for `queryEntries(filter)` (EXPLAIN, one line a step). */
  async queryPlan(filter: EntryFilter): Promise<string[]> {
    const q = await this.entriesQuery(filter);
    if (q === null) return [];
    const { rows } = await this.query<{ 'QUERY PLAN': string }>(`EXPLAIN ${q.sql}`, q.params);
    return rows.map((r) => r['QUERY PLAN']);
  }

  /** The statement of `queryEntries`, or null when nothing can match. */
  private async entriesQuery(
    filter: EntryFilter,
  ): Promise<{ sql: string; params: (string | number)[] } | null> {
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    const params: (string | number)[] = [];
    const d = pgDialect(params);
    if (usesSearch(filter)) {
      const { streams, overlapping } = await planStreams(filter, this.keys);
      if (streams.length === 0) return null;
      const union = streamsSql(
        'ledger_entries',
        streams,
        filter,
        d,
        pgCoverageSql,
        (d) => leafBounds(filter, d),
        dir,
        filter.limit,
        overlapping,
      );
      // The union's first `limit` leaf indices first, then those rows by primary key: never a
      // walk of the table matched against the union.
      return {
        sql: `SELECT ${READ_COLUMNS.replace(/(^|, )/g, '$1e.')} FROM (${union}
               ORDER BY leaf_index ${dir} LIMIT ${d.param(filter.limit)}) AS k
               JOIN ledger_entries e ON e.leaf_index = k.leaf_index ORDER BY e.leaf_index ${dir}`,
        params,
      };
    }
    const where = [
      ...leafBounds(filter, d),
      ...selectionConditions(filter, d, pgCoverageSql, false),
    ];
    const w = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    return {
      sql: `SELECT ${READ_COLUMNS} FROM ledger_entries${w} ORDER BY leaf_index ${dir} LIMIT ${d.param(filter.limit)}`,
      params,
    };
  }

  async countEntries(selection: EntrySelection, cap: number): Promise<EntryCount> {
    if (!hasConditions(selection)) {
      const { rows } = await this.query<{ n: number | null }>(
        'SELECT max(leaf_index) AS n FROM ledger_entries',
      );
      const n = rows[0]?.n;
      return { count: n === null || n === undefined ? 0 : Number(n) + 1, exact: true };
    }
    const { streams, overlapping } = usesSearch(selection)
      ? await planStreams(selection, this.keys)
      : { streams: [{ kind: 'all' } as const], overlapping: false };
    if (streams.length === 0) return { count: 0, exact: true };
    const params: (string | number)[] = [];
    const d = pgDialect(params);
    const union = streamsSql(
      'ledger_entries',
      streams,
      selection,
      d,
      pgCoverageSql,
      () => [],
      null,
      cap + 1,
      overlapping,
    );
    const { rows } = await this.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (${union} LIMIT ${d.param(cap + 1)}) AS c`,
      params,
    );
    const n = rows[0]?.n ?? 0;
    return n > cap ? { count: cap, exact: false } : { count: n, exact: true };
  }

  /** The distinct keys of the search indexes, one index seek each. */
  private readonly keys: KeyReader = {
    countUpTo: async (conditions, cap) => {
      const params: (string | number)[] = [];
      const d = pgDialect(params);
      const where = conditions(d);
      const w = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
      const { rows } = await this.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM (SELECT 1 FROM ledger_entries${w} LIMIT ${d.param(cap + 1)}) AS c`,
        params,
      );
      return rows[0]?.n ?? 0;
    },
    // A loose index scan: one recursive statement, one index seek per key.
    actions: async (from, to, max) => {
      const bound = to === null ? '' : ' AND action_name < $2';
      const { rows } = await this.query<{ k: string }>(
        `WITH RECURSIVE k(name) AS (
           (SELECT action_name FROM ledger_entries WHERE action_name >= $1${bound}
             ORDER BY action_name LIMIT 1)
           UNION ALL
           SELECT (SELECT e.action_name FROM ledger_entries e WHERE e.action_name > k.name${bound.replace('action_name', 'e.action_name')}
                    ORDER BY e.action_name LIMIT 1)
             FROM k WHERE k.name IS NOT NULL
         )
         SELECT name AS k FROM k WHERE name IS NOT NULL LIMIT ${to === null ? '$2' : '$3'}`,
        to === null ? [from, max] : [from, to, max],
      );
      return rows.map((r) => r.k);
    },
    resourceActions: async (from, to, max) => {
      const bound = to === null ? '' : ' AND resource < $2';
      const { rows } = await this.query<{ r: string; a: string }>(
        `WITH RECURSIVE k(r, a) AS (
           (SELECT resource, action_name FROM ledger_entries WHERE resource >= $1${bound}
             ORDER BY resource, action_name LIMIT 1)
           UNION ALL
           SELECT n.resource, n.action_name FROM k, LATERAL (
             SELECT e.resource, e.action_name FROM ledger_entries e
              WHERE (e.resource, e.action_name) > (k.r, k.a)${bound.replace('resource', 'e.resource')}
              ORDER BY e.resource, e.action_name LIMIT 1) AS n
         )
         SELECT r, a FROM k LIMIT ${to === null ? '$2' : '$3'}`,
        to === null ? [from, max] : [from, to, max],
      );
      return rows.map((r) => [r.r, r.a] as const);
    },
  };

  async lacksCoverageFacts(range: CoverageRange): Promise<boolean> {
    const { where, params } = pgRange(range);
    const { rows } = await this.query(
      `SELECT 1 FROM ledger_entries WHERE cov_flags IS NULL${where} LIMIT 1`,
      params,
    );
    return rows.length > 0;
  }

  async coverageCounts(
    range: CoverageRange,
    lifetimeBoundsSec: readonly number[],
  ): Promise<CoverageCounts> {
    const { where, params } = pgRange(range);
    const w = where === '' ? '' : ` WHERE ${where.slice(5)}`;
    const [byFlags, lifetimes, pooled] = await Promise.all([
      this.query<{ f: number | null; level: string; n: number }>(
        `SELECT cov_flags AS f, level, count(*) AS n FROM ledger_entries${w} GROUP BY cov_flags, level`,
        params,
      ),
      this.query<{ s: number; n: number }>(
        `SELECT cov_lifetime AS s, count(*) AS n FROM ledger_entries
          WHERE cov_lifetime IS NOT NULL${where} GROUP BY cov_lifetime`,
        params,
      ),
      this.query<{ actor: string; records: number; instances: number; tasks: number }>(
        `SELECT actor, count(*) AS records, count(DISTINCT cov_instance) AS instances,
                count(DISTINCT task_id) AS tasks
           FROM ledger_entries
          WHERE level = 'pooled' AND actor IS NOT NULL AND (cov_flags & ${COVERAGE_FLAG.action}) <> 0${where}
          GROUP BY actor`,
        params,
      ),
    ]);
    let records = 0;
    const groups: { flags: number; level: string; count: number }[] = [];
    for (const r of byFlags.rows) {
      records += r.n;
      if (r.f !== null && (r.f & COVERAGE_FLAG.action) !== 0)
        groups.push({ flags: r.f, level: r.level, count: r.n });
    }
    return {
      records,
      groups,
      lifetimes: bucketLifetimes(lifetimes.rows, lifetimeBoundsSec),
      pooled: pooled.rows,
    };
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    const { rows } = await this.query<CheckpointRow>(
      'SELECT size, root_hash, note FROM ledger_checkpoints WHERE size = $1',
      [size],
    );
    return rows[0] ? toCheckpoint(rows[0]) : null;
  }

  async firstMissingLeaf(size: number): Promise<number | null> {
    return findMissingLeaf('ledger_entries', '$1', size, async (sql, params) => {
      return (await this.query<Record<string, unknown>>(sql, [...params])).rows;
    });
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    if (this.closed) return { ok: false, detail: 'closed' };
    try {
      await this.pool.query('SELECT 1');
      return { ok: true };
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
  }

  async enqueue(entries: readonly PendingEntry[]): Promise<EnqueueOutcome[]> {
    if (this.closed) throw closedError();
    if (entries.length === 0) return [];
    const client = await this.checkout();
    let broken = false;
    try {
      return await enqueueInTransaction(client, entries, this.forceSyncCommit);
    } catch (e) {
      broken = await rollback(client);
      throw postgresWriteError(e, 'The PostgreSQL ledger refused the write.');
    } finally {
      client.release(broken);
    }
  }

  async readPending(limit: number): Promise<QueuedEntry[]> {
    const { rows } = await this.query<PendingRow>(READ_PENDING, [limit]);
    return rows.map(toQueued);
  }

  async readPendingLeaves(limit: number): Promise<PendingLeaf[]> {
    const { rows } = await this.query<PendingLeafRow>(READ_PENDING_LEAVES, [limit]);
    return rows.map(toPendingLeaf);
  }

  async getQueued(id: string): Promise<QueuedEntry | null> {
    const { rows } = await this.query<PendingRow>(GET_QUEUED, [id]);
    return rows[0] ? toQueued(rows[0]) : null;
  }

  async pendingCount(): Promise<number> {
    const { rows } = await this.query<{ n: number }>(PENDING_COUNT);
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  async fillCoverageFacts(compute: CoverageRule): Promise<number> {
    if (this.readOnly) {
      throw new StorageError('storage_read_only', 'The ledger was opened read-only.');
    }
    let filled = 0;
    for (;;) {
      const { rows } = await this.query<{ leaf_index: string; record: string; level: string }>(
        `SELECT leaf_index, record, level FROM ledger_entries WHERE cov_flags IS NULL ORDER BY leaf_index LIMIT ${FILL_BATCH}`,
      );
      if (rows.length === 0) return filled;
      const facts: CoverageFacts[] = [];
      for (const r of rows) facts.push(await compute(r.record, r.level));
      // Another collector may fill the same rows meanwhile: the same facts, and only NULLs change.
      await this.query(
        `UPDATE ledger_entries AS e SET cov_flags = f.flags, cov_lifetime = f.lifetime, cov_instance = f.instance
           FROM unnest($1::bigint[], $2::int[], $3::double precision[], $4::text[]) AS f(leaf_index, flags, lifetime, instance)
          WHERE e.leaf_index = f.leaf_index AND e.cov_flags IS NULL`,
        [
          rows.map((r) => r.leaf_index),
          facts.map((f) => f.flags),
          facts.map((f) => f.lifetimeSec),
          facts.map((f) => f.instance),
        ],
      );
      filled += rows.length;
    }
  }

  private async query<R extends pg.QueryResultRow>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) throw closedError();
    try {
      return await this.pool.query<R>(sql, params as unknown[] | undefined);
    } catch (e) {
      throw postgresWriteError(e, 'The PostgreSQL ledger query failed.');
    }
  }
}

/** AND-terms (each starting with " AND ") and parameters of a coverage time range. */
function pgRange(range: CoverageRange): { where: string; params: number[] } {
  let where = '';
  const params: number[] = [];
  if (range.fromUs !== undefined) {
    params.push(range.fromUs);
    where += ` AND time_us >= $${params.length}`;
  }
  if (range.toUs !== undefined) {
    params.push(range.toUs);
    where += ` AND time_us < $${params.length}`;
  }
  return { where, params };
}

/** PostgreSQL's SQL: `$n` placeholders, LIKE (its `%`, `_` and `\\` quoted), no `+column`. */
function pgDialect(params: (string | number)[]): Dialect {
  return {
    param(value) {
      params.push(value);
      return `$${params.length}`;
    },
    glob(column, glob) {
      params.push(glob.replace(/[\\%_]/g, (c) => `\\${c}`).replace(/\*/g, '%'));
      return `${column} LIKE $${params.length}`;
    },
    unindexed: (column) => column,
    walked: (table) => table,
  };
}

/** PostgreSQL's coverage conditions (the levels as one JSON parameter). */
const pgCoverageSql: CoverageSql = (c, d) => {
  const where = ['cov_flags IS NOT NULL'];
  if (c.flagsAll !== undefined) {
    const p = d.param(c.flagsAll);
    where.push(`(cov_flags & ${p}) = ${p}`);
  }
  if (c.flagsNone !== undefined) where.push(`(cov_flags & ${d.param(c.flagsNone)}) = 0`);
  if (c.levels !== undefined) {
    where.push(
      `level IN (SELECT jsonb_array_elements_text(${d.param(JSON.stringify(c.levels))}::jsonb))`,
    );
  }
  if (c.hasLifetime || c.lifetimeGtSec !== undefined || c.lifetimeLeSec !== undefined)
    where.push('cov_lifetime IS NOT NULL');
  if (c.lifetimeGtSec !== undefined) where.push(`cov_lifetime > ${d.param(c.lifetimeGtSec)}`);
  if (c.lifetimeLeSec !== undefined) where.push(`cov_lifetime <= ${d.param(c.lifetimeLeSec)}`);
  return where;
};
