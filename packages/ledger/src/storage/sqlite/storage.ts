import Database from 'better-sqlite3';
import type { TileId } from '../../tiles/layout.js';
import { COVERAGE_FLAG, bucketLifetimes } from '../coverage.js';
import type {
  CoverageCounts,
  CoverageFacts,
  CoverageIndex,
  CoverageRange,
  CoverageRule,
} from '../coverage.js';

/** Entries filled per transaction by fillCoverageFacts (the event loop runs between batches). */
const FILL_BATCH = 1000;
import { StorageError } from '../errors.js';
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
  ExistingEntry,
  LeafSource,
  LogState,
  LogStorage,
  StoredCheckpoint,
  StoredEntry,
} from '../port.js';
import { LOW_SPACE_BYTES, freeBytes, sqliteWriteError } from './errors.js';
import { SqliteReadWorker } from './read-worker.js';
import type { Read } from './read-worker.js';
import { APPEND_SQL, appendRefusal, appendRows, toAppendRows } from './append.js';
import type { AppendRows, AppendStatements } from './append.js';
import { SqliteWriteWorker } from './write-worker.js';
import {
  COVERAGE_DDL,
  COVERAGE_RULE_VERSION,
  DDL,
  PAGE_CACHE_KIB,
  READABLE_VERSIONS,
  SCHEMA_VERSION,
  SEARCH_DDL,
  SEARCH_VERSION,
  TILES_VERSION,
  migrate,
} from './schema.js';

const RANGE_SQL =
  'SELECT * FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index';
const LEAVES_SQL =
  'SELECT leaf_index AS i, CAST(record AS BLOB) AS d, leaf_hash AS h FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index';

export interface SqliteStorageOptions {
  /** Open without write access (offline verification); the file must exist. */
  readonly readonly?: boolean;
  /**
   * Run the reads that can be large (queryEntries, getEntries, readLeaves, coverageCounts) on a
   * read-only connection in a worker thread (./read-worker.ts), so they never block the event
   * loop that ingest and health answer on. Default: on for a writable file, off for `readonly`
   * and for `:memory:` (offline verification turns it on: it reads the next leaves there while
   * it hashes the last ones).
   */
  readonly readWorker?: boolean;
  /**
   * Commit appends on a connection of their own in a worker thread (./write-worker.ts), so the
   * inserts and the durable commit never hold the event loop either. Default: on for a writable
   * file; off for `:memory:` (one connection only). Point reads and the rare other writes (the
   * coverage fill at start, health's write probe) stay on this connection.
   */
  readonly writeWorker?: boolean;
}

/**
 * Embedded SQLite driver (better-sqlite3, WAL). `synchronous = FULL` makes every commit durable
 * before `append` resolves: an acknowledged record survives a crash or power loss.
 */
export class SqliteStorage implements LogStorage, CoverageIndex {
  readonly kind = 'sqlite';
  private readonly db: Database.Database;
  private readonly readonly: boolean;
  private readonly stmts;
  private readonly appendTx: (rows: AppendRows) => void;
  private readonly queryCache = new Map<string, Database.Statement>();
  /** False for an older file opened read-only: no coverage facts of the current rule. */
  private readonly coverageColumns: boolean;
  /** False for a file from before schema 4 opened read-only: no search columns. */
  private readonly searchColumns: boolean;
  /** False for a file from before schema 5 opened read-only: its tree is in table nodes. */
  private readonly hashTiles: boolean;
  private readonly file: string;
  /** When an append last failed for lack of disk space; null once a write succeeds again. */
  private fullSince: string | null = null;
  /** Where the large reads run, or null: on this connection. */
  private readonly reader: SqliteReadWorker | null;
  /** Where appends commit, or null: on this connection. */
  private readonly writer: SqliteWriteWorker | null = null;

  constructor(file: string, options: SqliteStorageOptions = {}) {
    this.file = file;
    this.readonly = options.readonly ?? false;
    const inFile = file !== '' && file !== ':memory:';
    this.reader =
      (options.readWorker ?? !this.readonly) && inFile ? new SqliteReadWorker(file) : null;
    try {
      this.db = new Database(file, { readonly: this.readonly, fileMustExist: this.readonly });
    } catch (e) {
      throw new StorageError('storage_unavailable', `Cannot open the ledger database ${file}.`, {
        cause: (e as Error).message,
      });
    }
    this.db.pragma(`cache_size = -${PAGE_CACHE_KIB.main}`);
    if (!this.readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      // Checkpoint the WAL in larger, rarer steps: measured 23 → 17 µs/row at 1,000-row commits.
      this.db.pragma('wal_autocheckpoint = 10000');
      this.db.exec(DDL);
      this.db
        .prepare(`INSERT OR IGNORE INTO meta (key, value) VALUES ('schema_version', ?)`)
        .run(SCHEMA_VERSION);
    }
    let version = this.tryGetMeta('schema_version');
    if (!this.readonly && version !== SCHEMA_VERSION) {
      try {
        version = migrate(this.db, version);
      } catch (e) {
        this.db.close();
        throw new StorageError(
          'storage_unavailable',
          `Cannot migrate ${file} to schema ${SCHEMA_VERSION}.`,
          { cause: (e as Error).message },
        );
      }
    }
    // A file opened read-only at an older schema has no facts, or facts of an older rule: its
    // coverage is counted from the records themselves (`lacksCoverageFacts`).
    this.coverageColumns = Number(version) >= Number(COVERAGE_RULE_VERSION);
    // One opened read-only from before the search columns reads, but cannot search.
    this.searchColumns = Number(version) >= Number(SEARCH_VERSION);
    this.hashTiles = Number(version) >= Number(TILES_VERSION);
    if (
      version === undefined ||
      !(this.readonly ? READABLE_VERSIONS.includes(version) : version === SCHEMA_VERSION)
    ) {
      this.db.close();
      throw new StorageError(
        'storage_corrupt',
        `${file} is not a Provenant ledger of schema version ${SCHEMA_VERSION}.`,
      );
    }
    if (!this.readonly) this.db.exec(COVERAGE_DDL + SEARCH_DDL);
    const db = this.db;
    this.stmts = {
      size: db.prepare<[], { n: number | null }>('SELECT max(leaf_index) AS n FROM entries'),
      // `health` on every GET /healthz: one prepared statement, not one prepared a call.
      ping: db.prepare('SELECT 1'),
      latestCheckpoint: db.prepare<[], CheckpointRow>(
        'SELECT size, root_hash, note FROM checkpoints ORDER BY size DESC LIMIT 1',
      ),
      checkpoint: db.prepare<[number], CheckpointRow>(
        'SELECT size, root_hash, note FROM checkpoints WHERE size = ?',
      ),
      existing: db.prepare<[string], { leaf_index: number; leaf_hash: Buffer }>(
        'SELECT leaf_index, leaf_hash FROM entries WHERE id = ?',
      ),
      byId: db.prepare<[string], EntryRow>('SELECT * FROM entries WHERE id = ?'),
      tile: this.hashTiles
        ? db.prepare<[number, number], { h: Buffer }>(
            'SELECT hashes AS h FROM tiles WHERE level = ? AND idx = ?',
          )
        : null,
    };
    if (this.readonly) {
      this.appendTx = () => {
        throw new StorageError('storage_read_only', 'The ledger was opened read-only.');
      };
      return;
    }
    const statements = Object.fromEntries(
      Object.entries(APPEND_SQL).map(([name, sql]) => [name, db.prepare(sql)]),
    ) as AppendStatements;
    // BEGIN IMMEDIATE: the write lock is taken first (waiting out another writer of the file, a
    // registry or policy store, under the busy timeout). A deferred transaction would read the
    // size first and then fail to upgrade, with no wait (SQLITE_BUSY), if another connection
    // committed in between.
    this.appendTx = db.transaction((rows: AppendRows) => appendRows(statements, rows)).immediate;
    this.writer =
      (options.writeWorker ?? true) && inFile
        ? new SqliteWriteWorker(file, (e) => this.writeFailed(e))
        : null;
  }

  async readState(): Promise<LogState> {
    const n = this.stmts.size.get()?.n;
    const row = this.stmts.latestCheckpoint.get();
    return {
      size: n === null || n === undefined ? 0 : n + 1,
      checkpoint: row ? toCheckpoint(row) : null,
    };
  }

  async append(batch: AppendBatch): Promise<void> {
    if (this.readonly) {
      throw new StorageError('storage_read_only', 'The ledger was opened read-only.');
    }
    const rows = toAppendRows(batch, this.kind);
    if (this.writer) {
      await this.writer.append(rows);
      this.fullSince = null;
      return;
    }
    try {
      this.appendTx(rows);
      this.fullSince = null;
    } catch (e) {
      // better-sqlite3 rolls the transaction back, and SQLite may already have (SQLITE_FULL,
      // SQLITE_IOERR); make sure no half-written batch stays open on this connection.
      this.rollbackIfOpen();
      throw appendRefusal(e as Error) ?? this.writeFailed(e as Error);
    }
  }

  /** A write the database refused, as a StorageError; remembers a full disk for `health`. */
  private writeFailed(e: Error & { code?: unknown }): StorageError {
    if (e instanceof StorageError) return e;
    if (/UNIQUE constraint failed/.test(e.message)) {
      return new StorageError('storage_conflict', 'An entry of this batch is already stored.', {
        cause: e.message,
      });
    }
    const error = sqliteWriteError(e, this.file, 'The ledger database refused the write.');
    if (error.code === 'storage_full') this.fullSince ??= new Date().toISOString();
    return error;
  }

  async findExisting(ids: readonly string[]): Promise<Map<string, ExistingEntry>> {
    const found = new Map<string, ExistingEntry>();
    for (const id of ids) {
      const row = this.stmts.existing.get(id);
      if (row) found.set(id, { leafIndex: row.leaf_index, leafHash: row.leaf_hash });
    }
    return found;
  }

  async getEntryById(id: string): Promise<StoredEntry | null> {
    const row = this.stmts.byId.get(id);
    return row ? toEntry(row) : null;
  }

  async getEntries(start: number, count: number): Promise<StoredEntry[]> {
    return (await this.read<EntryRow>(RANGE_SQL, [start, start + count])).map(toEntry);
  }

  /** Read as bytes (CAST AS BLOB): no string decoding on the verification path. */
  async readLeaves(start: number, count: number): Promise<LeafSource[]> {
    const rows = await this.read<{ i: number; d: Buffer; h: Buffer }>(LEAVES_SQL, [
      start,
      start + count,
    ]);
    return rows.map((r) => ({
      leafIndex: r.i,
      data: r.d,
      storedLeafHash: r.h,
    }));
  }

  async getTiles(ids: readonly TileId[]): Promise<(Uint8Array | null)[]> {
    const tile = this.stmts.tile;
    if (tile === null) return ids.map((id) => this.legacyTile(id));
    return ids.map(({ level, index }) => tile.get(level, index)?.h ?? null);
  }

  /**
   * A tile of a file from before schema 5 opened read-only (offline verification of an older
   * ledger): its hashes from the leaf hashes (level 0) or table nodes, up to the first gap.
   */
  private legacyTile({ level, index }: TileId): Uint8Array | null {
    const rows = (
      level === 0
        ? this.cached(
            'SELECT leaf_index AS i, leaf_hash AS h FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index',
          ).all(256 * index, 256 * index + 256)
        : this.cached(
            'SELECT idx AS i, hash AS h FROM nodes WHERE level = ? AND idx >= ? AND idx < ? ORDER BY idx',
          ).all(8 * level, 256 * index, 256 * index + 256)
    ) as { i: number; h: Buffer }[];
    let n = 0;
    while (n < rows.length && rows[n]!.i === 256 * index + n) n++;
    return n === 0 ? null : Buffer.concat(rows.slice(0, n).map((r) => r.h));
  }

  async queryEntries(filter: EntryFilter): Promise<StoredEntry[]> {
    const q = await this.entriesQuery(filter);
    return q === null ? [] : (await this.read<EntryRow>(q.sql, q.params)).map(toEntry);
  }

  /**
   * The plan SQLite chooses for `queryEntries(filter)` (EXPLAIN QUERY PLAN, one line a step):
   * tests hold the indexes to it, so a change that loses one fails.
   */
  async queryPlan(filter: EntryFilter): Promise<string[]> {
    const q = await this.entriesQuery(filter);
    if (q === null) return [];
    return (
      this.db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params) as { detail: string }[]
    ).map((r) => r.detail);
  }

  /** The statement of `queryEntries`, or null when nothing can match. */
  private async entriesQuery(
    filter: EntryFilter,
  ): Promise<{ sql: string; params: (string | number)[] } | null> {
    const dir = filter.order === 'desc' ? 'DESC' : 'ASC';
    if (filter.coverage !== undefined) this.assertCoverageColumns();
    const params: (string | number)[] = [];
    const d = sqliteDialect(params);
    if (usesSearch(filter)) {
      // An action, resource, outcome or search-box selection: planned (../search.ts).
      this.assertSearchColumns();
      const { streams, overlapping } = await planStreams(filter, this.keys);
      if (streams.length === 0) return null;
      const union = streamsSql(
        'entries',
        streams,
        filter,
        d,
        this.coverageSql,
        (d) => leafBounds(filter, d),
        dir,
        filter.limit,
        overlapping,
      );
      const sql = `SELECT * FROM entries WHERE leaf_index IN (${union}) ORDER BY leaf_index ${dir} LIMIT ${d.param(filter.limit)}`;
      return { sql, params };
    }
    const where = [
      ...leafBounds(filter, d),
      ...selectionConditions(filter, d, this.coverageSql, false),
    ];
    const w = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
    params.push(filter.limit);
    const c = filter.coverage;
    // A coverage filter: find the leaf indices in a covering index (entries_time, or the few
    // credential rows of entries_cov_lifetime), whatever the filter's selectivity, then read
    // only those rows; a scan of the table itself would read every record.
    const index =
      c === undefined
        ? null
        : c.hasLifetime || c.lifetimeGtSec !== undefined || c.lifetimeLeSec !== undefined
          ? 'entries_cov_lifetime'
          : 'entries_time';
    const sql =
      index === null
        ? `SELECT * FROM entries${w} ORDER BY leaf_index ${dir} LIMIT ?`
        : `SELECT * FROM entries WHERE leaf_index IN (SELECT leaf_index FROM entries INDEXED BY ${index}
             ${w} ORDER BY leaf_index ${dir} LIMIT ?) ORDER BY leaf_index ${dir}`;
    return { sql, params };
  }

  async countEntries(selection: EntrySelection, cap: number): Promise<EntryCount> {
    if (!hasConditions(selection)) {
      const n = this.stmts.size.get()?.n;
      return { count: n === null || n === undefined ? 0 : n + 1, exact: true };
    }
    if (usesSearch(selection)) this.assertSearchColumns();
    if (selection.coverage !== undefined) this.assertCoverageColumns();
    const { streams, overlapping } = usesSearch(selection)
      ? await planStreams(selection, this.keys)
      : { streams: [{ kind: 'all' } as const], overlapping: false };
    if (streams.length === 0) return { count: 0, exact: true };
    const params: (string | number)[] = [];
    const d = sqliteDialect(params);
    const union = streamsSql(
      'entries',
      streams,
      selection,
      d,
      this.coverageSql,
      () => [],
      null,
      cap + 1,
      overlapping,
    );
    const rows = await this.read<{ n: number }>(
      `SELECT count(*) AS n FROM (${union} LIMIT ${d.param(cap + 1)})`,
      params,
    );
    const n = rows[0]?.n ?? 0;
    return n > cap ? { count: cap, exact: false } : { count: n, exact: true };
  }

  /** The distinct keys of the search indexes, one seek each (on this connection: tiny reads). */
  private readonly keys: KeyReader = {
    countUpTo: async (conditions, cap) => {
      const params: (string | number)[] = [];
      const where = conditions(sqliteDialect(params));
      const w = where.length === 0 ? '' : ` WHERE ${where.join(' AND ')}`;
      params.push(cap + 1);
      const row = this.cached(`SELECT count(*) AS n FROM (SELECT 1 FROM entries${w} LIMIT ?)`).get(
        ...params,
      ) as { n: number };
      return row.n;
    },
    actions: async (from, to, max) => {
      const first = this.cached(
        `SELECT action_name AS k FROM entries WHERE action_name >= ?${to === null ? '' : ' AND action_name < ?'} ORDER BY action_name LIMIT 1`,
      );
      const next = this.cached(
        `SELECT action_name AS k FROM entries WHERE action_name > ?${to === null ? '' : ' AND action_name < ?'} ORDER BY action_name LIMIT 1`,
      );
      const bound = to === null ? [] : [to];
      const out: string[] = [];
      let row = first.get(from, ...bound) as { k: string } | undefined;
      while (row && out.length < max) {
        out.push(row.k);
        row = next.get(row.k, ...bound) as { k: string } | undefined;
      }
      return out;
    },
    resourceActions: async (from, to, max) => {
      const bound = to === null ? '' : ' AND resource < ?';
      const first = this.cached(
        `SELECT resource AS r, action_name AS a FROM entries WHERE resource >= ?${bound} ORDER BY resource, action_name LIMIT 1`,
      );
      const sameResource = this.cached(
        'SELECT action_name AS a FROM entries WHERE resource = ? AND action_name > ? ORDER BY action_name LIMIT 1',
      );
      const nextResource = this.cached(
        `SELECT resource AS r, action_name AS a FROM entries WHERE resource > ?${bound} ORDER BY resource, action_name LIMIT 1`,
      );
      const params = to === null ? [] : [to];
      const out: (readonly [string, string])[] = [];
      let key = first.get(from, ...params) as { r: string; a: string } | undefined;
      while (key && out.length < max) {
        out.push([key.r, key.a]);
        const same = sameResource.get(key.r, key.a) as { a: string } | undefined;
        key = same
          ? { r: key.r, a: same.a }
          : (nextResource.get(key.r, ...params) as { r: string; a: string } | undefined);
      }
      return out;
    },
  };

  /** SQLite's coverage conditions (the levels as a list of parameters). */
  private readonly coverageSql: CoverageSql = (c, d) => {
    const where = ['cov_flags IS NOT NULL'];
    if (c.flagsAll !== undefined) {
      const p = d.param(c.flagsAll);
      where.push(`(cov_flags & ${p}) = ${d.param(c.flagsAll)}`);
    }
    if (c.flagsNone !== undefined) where.push(`(cov_flags & ${d.param(c.flagsNone)}) = 0`);
    if (c.levels !== undefined) {
      where.push(
        c.levels.length === 0 ? '0' : `level IN (${c.levels.map((l) => d.param(l)).join(', ')})`,
      );
    }
    if (c.hasLifetime || c.lifetimeGtSec !== undefined || c.lifetimeLeSec !== undefined)
      where.push('cov_lifetime IS NOT NULL');
    if (c.lifetimeGtSec !== undefined) where.push(`cov_lifetime > ${d.param(c.lifetimeGtSec)}`);
    if (c.lifetimeLeSec !== undefined) where.push(`cov_lifetime <= ${d.param(c.lifetimeLeSec)}`);
    return where;
  };

  /** A read that can be large: in the worker when there is one, else on this connection. */
  private async read<T>(sql: string, params: readonly (string | number)[]): Promise<T[]> {
    if (this.reader) return this.reader.all<T>(sql, params);
    return this.cached(sql).all(...params) as T[];
  }

  /** Several reads of one commit (on this connection, synchronous reads are of one already). */
  private async readSnapshot(reads: readonly Read[]): Promise<unknown[][]> {
    if (this.reader) return this.reader.snapshot(reads);
    return reads.map((r) => this.cached(r.sql).all(...r.params));
  }

  async lacksCoverageFacts(range: CoverageRange): Promise<boolean> {
    if (!this.coverageColumns) return true;
    const { where, params } = rangeSql(range);
    return (
      this.cached(
        `SELECT 1 AS x FROM entries INDEXED BY entries_cov_missing WHERE cov_flags IS NULL${where} LIMIT 1`,
      ).get(...params) !== undefined
    );
  }

  async coverageCounts(
    range: CoverageRange,
    lifetimeBoundsSec: readonly number[],
  ): Promise<CoverageCounts> {
    this.assertCoverageColumns();
    const { where, params } = rangeSql(range);
    const w = where === '' ? '' : ` WHERE ${where.slice(5)}`;
    // One read transaction, so the three counts are of one commit. The first is one pass over
    // the range in the covering index entries_time, not the table.
    const [rows, lifetimes, pooled] = (await this.readSnapshot([
      {
        sql: `SELECT cov_flags AS f, level, count(*) AS n FROM entries INDEXED BY entries_time${w} GROUP BY cov_flags, level`,
        params,
      },
      {
        sql: `SELECT cov_lifetime AS s, count(*) AS n FROM entries INDEXED BY entries_cov_lifetime WHERE cov_lifetime IS NOT NULL${where} GROUP BY cov_lifetime`,
        params,
      },
      {
        sql: `SELECT actor, count(*) AS records, count(DISTINCT cov_instance) AS instances, count(DISTINCT task_id) AS tasks
         FROM entries WHERE level = 'pooled' AND actor IS NOT NULL AND (cov_flags & ${COVERAGE_FLAG.action}) <> 0${where}
        GROUP BY actor`,
        params,
      },
    ])) as [
      { f: number | null; level: string; n: number }[],
      { s: number; n: number }[],
      { actor: string; records: number; instances: number; tasks: number }[],
    ];
    let records = 0;
    const groups: { flags: number; level: string; count: number }[] = [];
    for (const r of rows) {
      records += r.n;
      if (r.f !== null && (r.f & COVERAGE_FLAG.action) !== 0)
        groups.push({ flags: r.f, level: r.level, count: r.n });
    }
    return { records, groups, lifetimes: bucketLifetimes(lifetimes, lifetimeBoundsSec), pooled };
  }

  async fillCoverageFacts(compute: CoverageRule): Promise<number> {
    if (this.readonly) {
      throw new StorageError('storage_read_only', 'The ledger was opened read-only.');
    }
    this.assertCoverageColumns();
    type Missing = { i: number; record: string; level: string };
    const next = this.cached(
      `SELECT leaf_index AS i, record, level FROM entries INDEXED BY entries_cov_missing WHERE cov_flags IS NULL LIMIT ${FILL_BATCH}`,
    );
    const set = this.cached(
      'UPDATE entries SET cov_flags = ?, cov_lifetime = ?, cov_instance = ? WHERE leaf_index = ? AND cov_flags IS NULL',
    );
    const fillBatch = this.db.transaction((rows: Missing[], facts: CoverageFacts[]) => {
      rows.forEach((r, k) => {
        const f = facts[k]!;
        set.run(f.flags, f.lifetimeSec, f.instance, r.i);
      });
    });
    let filled = 0;
    for (;;) {
      const rows = next.all() as Missing[];
      if (rows.length === 0) return filled;
      const facts: CoverageFacts[] = [];
      for (const r of rows) facts.push(await compute(r.record, r.level));
      fillBatch(rows, facts);
      filled += rows.length;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private cached(sql: string): Database.Statement {
    let stmt = this.queryCache.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.queryCache.set(sql, stmt);
    }
    return stmt;
  }

  private assertSearchColumns(): void {
    if (!this.searchColumns) {
      throw new StorageError(
        'storage_read_only',
        'This ledger file predates the search columns (schema 4); open it for writing once to migrate it.',
      );
    }
  }

  private assertCoverageColumns(): void {
    if (!this.coverageColumns) {
      throw new StorageError(
        'storage_read_only',
        `This ledger file predates the current coverage facts (schema ${SCHEMA_VERSION}); open it for writing once to migrate it.`,
      );
    }
  }

  async getCheckpoint(size: number): Promise<StoredCheckpoint | null> {
    const row = this.stmts.checkpoint.get(size);
    return row ? toCheckpoint(row) : null;
  }

  async firstMissingLeaf(size: number): Promise<number | null> {
    return findMissingLeaf('entries', '?', size, (sql, params) =>
      this.read<Record<string, unknown>>(sql, params),
    );
  }

  async health(): Promise<{ ok: boolean; detail?: string }> {
    try {
      this.stmts.ping.get();
    } catch (e) {
      return { ok: false, detail: (e as Error).message };
    }
    if (this.readonly) return { ok: true };
    // Reads work on a full disk: say so (before any append fails, too) until there is room
    // again: at least LOW_SPACE_BYTES free and, after a failed append, a real tiny commit, so
    // health turns ok when space returns even with no ingest traffic. A small commit alone is
    // no proof: it may fit in WAL space that the failed batch left allocated.
    const free = freeBytes(this.file);
    const low = free !== null && free < LOW_SPACE_BYTES;
    if (low || (this.fullSince !== null && !this.probeWrite())) {
      return {
        ok: false,
        detail:
          (this.fullSince === null
            ? 'storage_full: the file system holding the ledger is (almost) full'
            : `storage_full: no room to commit to the ledger since ${this.fullSince}`) +
          (free === null ? '' : `; ${free} bytes free`),
      };
    }
    return { ok: true };
  }

  /** One small committed write (meta row `write_probe`); true when it succeeded. */
  private probeWrite(): boolean {
    try {
      this.db
        .prepare(`INSERT OR REPLACE INTO meta (key, value) VALUES ('write_probe', ?)`)
        .run(new Date().toISOString());
      this.fullSince = null;
      return true;
    } catch {
      this.rollbackIfOpen();
      return false;
    }
  }

  private rollbackIfOpen(): void {
    try {
      if (this.db.inTransaction) this.db.exec('ROLLBACK');
    } catch {
      // SQLite already rolled it back.
    }
  }

  async close(): Promise<void> {
    await this.writer?.close();
    await this.reader?.close();
    if (this.db.open) this.db.close();
  }

  private tryGetMeta(key: string): string | undefined {
    try {
      return this.db
        .prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?')
        .get(key)?.value;
    } catch {
      return undefined;
    }
  }
}

/** AND-terms (each starting with " AND ") and parameters of a coverage time range. */
function rangeSql(range: CoverageRange): { where: string; params: number[] } {
  let where = '';
  const params: number[] = [];
  if (range.fromUs !== undefined) {
    where += ' AND time_us >= ?';
    params.push(range.fromUs);
  }
  if (range.toUs !== undefined) {
    where += ' AND time_us < ?';
    params.push(range.toUs);
  }
  return { where, params };
}

/** SQLite's SQL: `?` placeholders, GLOB (its `?` and `[` quoted), `+column` for unindexed. */
function sqliteDialect(params: (string | number)[]): Dialect {
  return {
    param(value) {
      params.push(value);
      return '?';
    },
    glob(column, glob) {
      params.push(glob.replace(/[[?]/g, (c) => `[${c}]`));
      return `${column} GLOB ?`;
    },
    unindexed: (column) => `+${column}`,
    walked: (table) => `${table} NOT INDEXED`,
  };
}
