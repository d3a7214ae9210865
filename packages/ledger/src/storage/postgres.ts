import pg from 'pg';
import type { NodeId } from '../merkle/index.js';
import { COVERAGE_FLAG, bucketLifetimes, postgresCoverageBackfill } from './coverage.js';
import type { CoverageCounts, CoverageIndex, CoverageRange } from './coverage.js';
import { StorageError } from './errors.js';
import { toCheckpoint, toEntry } from './rows.js';
import type { CheckpointRow, EntryRow } from './rows.js';
import type {
  AppendBatch,
  EntryFilter,
  EnqueueOutcome,
  ExistingEntry,
  IngestQueue,
  LogState,
  LogStorage,
  PendingEntry,
  QueuedEntry,
  StoredCheckpoint,
  StoredEntry,
} from './port.js';

/**
 * Versioned migrations, applied in order at start inside one transaction under an advisory lock
 * (so several collectors starting at once migrate once). Index i brings the schema to i + 1.
 *
 * Secondary indexes end in leaf_index (SQLite's end in the implicit rowid), so "filter, then
 * page by leaf index" is one index range scan; partial indexes skip the NULLs most records have.
 */
const MIGRATIONS: readonly string[] = [
  `
CREATE TABLE ledger_entries (
  leaf_index BIGINT PRIMARY KEY,
  id TEXT NOT NULL,
  record TEXT NOT NULL,
  leaf_hash BYTEA NOT NULL,
  type TEXT NOT NULL,
  time_us BIGINT NOT NULL,
  initiator TEXT,
  actor TEXT,
  task_id TEXT,
  trace_id TEXT,
  level TEXT NOT NULL
);
CREATE UNIQUE INDEX ledger_entries_id ON ledger_entries (id);
CREATE INDEX ledger_entries_initiator ON ledger_entries (initiator, leaf_index) WHERE initiator IS NOT NULL;
CREATE INDEX ledger_entries_actor ON ledger_entries (actor, leaf_index) WHERE actor IS NOT NULL;
CREATE INDEX ledger_entries_type ON ledger_entries (type, leaf_index);
CREATE INDEX ledger_entries_task ON ledger_entries (task_id, leaf_index) WHERE task_id IS NOT NULL;
CREATE INDEX ledger_entries_trace ON ledger_entries (trace_id, leaf_index) WHERE trace_id IS NOT NULL;
CREATE INDEX ledger_entries_time ON ledger_entries (time_us, leaf_index);
CREATE INDEX ledger_entries_level ON ledger_entries (level, leaf_index);
CREATE TABLE ledger_nodes (
  level SMALLINT NOT NULL,
  idx BIGINT NOT NULL,
  hash BYTEA NOT NULL,
  PRIMARY KEY (level, idx)
);
CREATE TABLE ledger_checkpoints (
  size BIGINT PRIMARY KEY,
  root_hash BYTEA NOT NULL,
  note TEXT NOT NULL
);
`,
  // The ingest queue of several collectors (IngestQueue). \`fields\` is the JSON of the entry's
  // index columns, so the queue needs no change when ledger_entries gains one.
  `
CREATE TABLE ledger_pending (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  record TEXT NOT NULL,
  leaf_hash BYTEA NOT NULL,
  fields TEXT NOT NULL,
  received_us BIGINT NOT NULL
);
`,
  // Coverage facts (./coverage.ts): computed at ingest, backfilled here from the records.
  `
ALTER TABLE ledger_entries ADD COLUMN cov_flags INTEGER, ADD COLUMN cov_lifetime DOUBLE PRECISION,
  ADD COLUMN cov_instance TEXT;
${postgresCoverageBackfill('ledger_entries')};
CREATE INDEX ledger_entries_cov_missing ON ledger_entries (time_us) WHERE cov_flags IS NULL;
CREATE INDEX ledger_entries_cov_lifetime ON ledger_entries (cov_lifetime) WHERE cov_lifetime IS NOT NULL;
`,
];

/** The newest schema this code knows; a database at a newer version is refused. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Advisory lock keys (one 64-bit namespace per database). */
const LOCK_MIGRATE = 0x70726f76_0001n; // 'prov' + 1
const LOCK_APPEND = 0x70726f76_0002n;

const ENTRY_COLUMNS =
  'leaf_index, id, record, leaf_hash, type, time_us, initiator, actor, task_id, trace_id, level';

interface PendingRow {
  seq: number;
  id: string;
  record: string;
  leaf_hash: Buffer;
  fields: string;
  received_us: number;
}

// BIGINT columns come back as JS numbers: leaf indices and microsecond times stay far below
// 2^53. Only this driver's pools use these parsers (pg's global defaults are left alone).
const INT8_OID = 20;
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format: 'text' | 'binary' = 'text') =>
    oid === INT8_OID && format === 'text'
      ? Number
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig['getTypeParser'],
};

export interface PostgresStorageOptions {
  /** Connections in the pool; default 8. */
  readonly poolSize?: number;
  /** Connection timeout, ms; default 5000. */
  readonly connectTimeoutMs?: number;
  /**
   * How long to keep asking whether a batch whose COMMIT answer was lost is stored, ms; default
   * 10000. Past it the append fails with outcome unknown.
   */
  readonly inDoubtMs?: number;
  /** Called with errors of idle connections (e.g. the server restarted); default: ignored. */
  readonly onPoolError?: (error: Error) => void;
  /**
   * For verification: every transaction read-only (enforced by the server), no migration; a
   * schema newer than this code is still refused.
   */
  readonly readOnly?: boolean;
}

/**
 * PostgreSQL driver (node-postgres). One append is one transaction: it takes a transaction-level
 * advisory lock, checks the stored size, inserts every entry with one multi-row statement
 * (arrays unnested server-side), the nodes likewise, and the checkpoint, then commits. With
 * `synchronous_commit = on` (forced for appends where the server's default is off), COMMIT
 * returns only after the WAL is flushed, so `append` resolves only once the batch is durable.
 *
 * The primary keys on leaf_index and on checkpoint size make a fork impossible even if two
 * writers raced past the size check: the second transaction fails and stores nothing.
 */
export class PostgresStorage implements LogStorage, IngestQueue, CoverageIndex {
  readonly kind = 'postgres';
  private readonly pool: pg.Pool;
  private readonly inDoubtMs: number;
  /** The server's default is `synchronous_commit = off`: turn it on for appends. */
  private forceSyncCommit = false;
  private closed = false;

  private constructor(pool: pg.Pool, inDoubtMs: number) {
    this.pool = pool;
    this.inDoubtMs = inDoubtMs;
  }

  /** Connects, applies pending migrations, and refuses a database of a newer schema. */
  static async open(url: string, options: PostgresStorageOptions = {}): Promise<PostgresStorage> {
    const pool = createPostgresPool(url, options);
    const storage = new PostgresStorage(pool, options.inDoubtMs ?? 10_000);
    try {
      if (options.readOnly) {
        await checkSchemaReadable(pool, MIGRATIONS.length, 'ledger');
        return storage;
      }
      await migratePostgres(pool, MIGRATIONS, 'ledger');
      const { rows } = await pool.query<{ s: string }>(
        "SELECT current_setting('synchronous_commit') AS s",
      );
      storage.forceSyncCommit = rows[0]?.s === 'off';
    } catch (e) {
      await pool.end().catch(() => {});
      throw asStorageError(e, 'Cannot open the PostgreSQL ledger.');
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
      const es = batch.entries;
      if (es.length > 0) {
        await client.query(
          `INSERT INTO ledger_entries (${ENTRY_COLUMNS}, cov_flags, cov_lifetime, cov_instance)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bytea[], $5::text[],
             $6::bigint[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[],
             $12::integer[], $13::float8[], $14::text[])`,
          [
            es.map((e) => e.leafIndex),
            es.map((e) => e.id),
            es.map((e) => e.canonical),
            es.map((e) => toBuffer(e.leafHash)),
            es.map((e) => e.type),
            es.map((e) => e.timeUs),
            es.map((e) => e.initiator),
            es.map((e) => e.actor),
            es.map((e) => e.taskId),
            es.map((e) => e.traceId),
            es.map((e) => e.level),
            es.map((e) => e.coverage?.flags ?? null),
            es.map((e) => e.coverage?.lifetimeSec ?? null),
            es.map((e) => e.coverage?.instance ?? null),
          ],
        );
      }
      const ns = batch.nodes;
      if (ns.length > 0) {
        await client.query(
          `INSERT INTO ledger_nodes (level, idx, hash)
           SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`,
          [ns.map((n) => n.level), ns.map((n) => n.index), ns.map((n) => toBuffer(n.hash))],
        );
      }
      const c = batch.checkpoint;
      // A batch that only takes queued duplicates out of the queue keeps the current checkpoint.
      if (es.length > 0 || c.size !== batch.fromSize) {
        await client.query(
          // No upsert: one size has one checkpoint, ever (a second is a conflict, never a fork).
          'INSERT INTO ledger_checkpoints (size, root_hash, note) VALUES ($1, $2, $3)',
          [c.size, toBuffer(c.rootHash), c.note],
        );
      }
      const dequeue = batch.dequeue ?? [];
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
    if (inDoubt) await this.resolveInDoubt(batch, inDoubt);
  }

  /**
   * After a COMMIT whose answer was lost: resolves if the batch is stored (its checkpoint note is
   * there), throws storage_unavailable if it is not; keeps asking for `inDoubtMs` while the
   * server is unreachable, then throws storage_unavailable with `outcome: 'unknown'`.
   */
  private async resolveInDoubt(batch: AppendBatch, cause: Error): Promise<void> {
    const deadline = Date.now() + this.inDoubtMs;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1000)) {
      try {
        // Under the append lock: a transaction still in flight on the lost connection ends
        // (commits or aborts) before this reads, so "not there" means never there.
        const note = await this.withClient(async (client) => {
          await client.query('BEGIN');
          await client.query("SET LOCAL lock_timeout = '5s'");
          await client.query('SELECT pg_advisory_xact_lock($1)', [LOCK_APPEND.toString()]);
          const { rows } = await client.query<{ note: string }>(
            'SELECT note FROM ledger_checkpoints WHERE size = $1',
            [batch.checkpoint.size],
          );
          await client.query('COMMIT');
          return rows[0]?.note;
        });
        if (note === batch.checkpoint.note) return;
        throw new StorageError('storage_unavailable', 'The PostgreSQL ledger lost the write.', {
          cause: cause.message,
          outcome: 'not_stored',
        });
      } catch (e) {
        if (e instanceof StorageError) throw e;
      }
      if (this.closed || Date.now() + wait > deadline) {
        throw new StorageError(
          'storage_unavailable',
          'The PostgreSQL ledger did not confirm the write, and cannot be asked whether it landed.',
          { cause: cause.message, outcome: 'unknown' },
        );
      }
      await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** A pooled connection for a transaction; storage_unavailable when none can be had. */
  private async checkout(): Promise<pg.PoolClient> {
    try {
      return await this.pool.connect();
    } catch (e) {
      throw asStorageError(e, 'The PostgreSQL ledger is unavailable.');
    }
  }

  private async withClient<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
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
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE id = $1`,
      [id],
    );
    return rows[0] ? toEntry(rows[0]) : null;
  }

  async getEntries(start: number, count: number): Promise<StoredEntry[]> {
    const { rows } = await this.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries
        WHERE leaf_index >= $1 AND leaf_index < $2 ORDER BY leaf_index`,
      [start, start + count],
    );
    return rows.map(toEntry);
  }

  async getNodes(ids: readonly NodeId[]): Promise<Uint8Array[]> {
    if (ids.length === 0) return [];
    const leaves: number[] = [];
    const levels: number[] = [];
    const indices: number[] = [];
    for (const { level, index } of ids) {
      if (level === 0) leaves.push(index);
      else {
        levels.push(level);
        indices.push(index);
      }
    }
    const { rows } = await this.query<{ l: number; i: number; h: Buffer }>(
      `SELECT 0 AS l, leaf_index AS i, leaf_hash AS h FROM ledger_entries
        WHERE leaf_index = ANY($1::bigint[])
       UNION ALL
       SELECT n.level, n.idx, n.hash FROM ledger_nodes n
         JOIN unnest($2::smallint[], $3::bigint[]) AS w(level, idx)
           ON n.level = w.level AND n.idx = w.idx`,
      [leaves, levels, indices],
    );
    const byKey = new Map<string, Buffer>();
    for (const r of rows) byKey.set(`${r.l}/${r.i}`, r.h);
    return ids.map(({ level, index }) => {
      const h = byKey.get(`${level}/${index}`);
      if (!h) {
        throw new StorageError('storage_corrupt', `No stored hash for node ${level}/${index}.`);
      }
      return h;
    });
  }

  async getNodeRange(level: number, start: number, count: number): Promise<Uint8Array[]> {
    const { rows } = await this.query<{ i: number; h: Buffer }>(
      level === 0
        ? `SELECT leaf_index AS i, leaf_hash AS h FROM ledger_entries
            WHERE leaf_index >= $2 AND leaf_index < $3 AND $1::int = 0 ORDER BY leaf_index`
        : `SELECT idx AS i, hash AS h FROM ledger_nodes
            WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx`,
      [level, start, start + count],
    );
    // Stop at the first gap so callers never get hashes out of position.
    const out: Uint8Array[] = [];
    for (const row of rows) {
      if (row.i !== start + out.length) break;
      out.push(row.h);
    }
    return out;
  }

  async queryEntries(filter: EntryFilter): Promise<StoredEntry[]> {
    const params: (string | number)[] = [filter.afterLeafIndex ?? -1];
    const where: string[] = ['leaf_index > $1'];
    const add = (sql: string, value: string | number | undefined) => {
      if (value === undefined) return;
      params.push(value);
      where.push(`${sql} $${params.length}`);
    };
    add('initiator =', filter.initiator);
    add('actor =', filter.actor);
    add('type =', filter.type);
    add('task_id =', filter.taskId);
    add('trace_id =', filter.traceId);
    add('level =', filter.level);
    add('time_us >=', filter.fromUs);
    add('time_us <', filter.toUs);
    const c = filter.coverage;
    if (c !== undefined) {
      where.push('cov_flags IS NOT NULL');
      if (c.flagsAll !== undefined) {
        params.push(c.flagsAll);
        where.push(`(cov_flags & $${params.length}) = $${params.length}`);
      }
      if (c.flagsNone !== undefined) {
        params.push(c.flagsNone);
        where.push(`(cov_flags & $${params.length}) = 0`);
      }
      if (c.levels !== undefined) {
        params.push(JSON.stringify(c.levels));
        where.push(`level IN (SELECT jsonb_array_elements_text($${params.length}::jsonb))`);
      }
      if (c.hasLifetime || c.lifetimeGtSec !== undefined || c.lifetimeLeSec !== undefined)
        where.push('cov_lifetime IS NOT NULL');
      add('cov_lifetime >', c.lifetimeGtSec);
      add('cov_lifetime <=', c.lifetimeLeSec);
    }
    params.push(filter.limit);
    const { rows } = await this.query<EntryRow>(
      `SELECT ${ENTRY_COLUMNS} FROM ledger_entries WHERE ${where.join(' AND ')}
        ORDER BY leaf_index LIMIT $${params.length}`,
      params,
    );
    return rows.map(toEntry);
  }

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
      await client.query('BEGIN');
      if (this.forceSyncCommit) await client.query('SET LOCAL synchronous_commit = on');
      // Shared with other collectors, exclusive with the sequencer's append: an id checked
      // against the log below cannot be sequenced (and leave the queue) before this commits.
      await client.query('SELECT pg_advisory_xact_lock_shared($1)', [LOCK_APPEND.toString()]);
      const ids = entries.map((e) => e.id);
      const logged = await client.query<{ id: string; leaf_index: number; leaf_hash: Buffer }>(
        'SELECT id, leaf_index, leaf_hash FROM ledger_entries WHERE id = ANY($1::text[])',
        [ids],
      );
      const inLog = new Map(logged.rows.map((r) => [r.id, r]));
      const queued = await client.query<{ id: string; leaf_hash: Buffer; received_us: number }>(
        'SELECT id, leaf_hash, received_us FROM ledger_pending WHERE id = ANY($1::text[])',
        [ids],
      );
      const inQueue = new Map<string, { leaf_hash: Uint8Array; received_us: number }>(
        queued.rows.map((r) => [r.id, r]),
      );
      const outcomes: (EnqueueOutcome | null)[] = [];
      const fresh: PendingEntry[] = [];
      for (const e of entries) {
        const l = inLog.get(e.id);
        const q = inQueue.get(e.id);
        if (l) {
          outcomes.push(
            sameBytes(l.leaf_hash, e.leafHash)
              ? { status: 'logged', leafIndex: l.leaf_index }
              : { status: 'id_conflict', leafIndex: l.leaf_index },
          );
        } else if (q) {
          outcomes.push(
            sameBytes(q.leaf_hash, e.leafHash)
              ? { status: 'queued', duplicate: true, receivedUs: q.received_us }
              : { status: 'id_conflict', leafIndex: null },
          );
        } else {
          outcomes.push(null);
          fresh.push(e);
          inQueue.set(e.id, { leaf_hash: e.leafHash, received_us: e.receivedUs });
        }
      }
      let inserted = new Set<string>();
      if (fresh.length > 0) {
        const { rows } = await client.query<{ id: string }>(
          `INSERT INTO ledger_pending (id, record, leaf_hash, fields, received_us)
           SELECT * FROM unnest($1::text[], $2::text[], $3::bytea[], $4::text[], $5::bigint[])
           ON CONFLICT (id) DO NOTHING RETURNING id`,
          [
            fresh.map((e) => e.id),
            fresh.map((e) => e.canonical),
            fresh.map((e) => toBuffer(e.leafHash)),
            fresh.map(indexFieldsJson),
            fresh.map((e) => e.receivedUs),
          ],
        );
        inserted = new Set(rows.map((r) => r.id));
      }
      // Ids another collector queued while this transaction ran: same content is a duplicate.
      const raced = fresh.filter((e) => !inserted.has(e.id)).map((e) => e.id);
      const winners = new Map<string, { leaf_hash: Buffer; received_us: number }>();
      if (raced.length > 0) {
        const { rows } = await client.query<{ id: string; leaf_hash: Buffer; received_us: number }>(
          'SELECT id, leaf_hash, received_us FROM ledger_pending WHERE id = ANY($1::text[])',
          [raced],
        );
        for (const r of rows) winners.set(r.id, r);
      }
      await client.query('COMMIT');
      return entries.map((e, i): EnqueueOutcome => {
        const decided = outcomes[i];
        if (decided) return decided;
        // (fresh holds each id once: later copies in this batch were decided above)
        if (inserted.has(e.id))
          return { status: 'queued', duplicate: false, receivedUs: e.receivedUs };
        const w = winners.get(e.id);
        return w && sameBytes(w.leaf_hash, e.leafHash)
          ? { status: 'queued', duplicate: true, receivedUs: w.received_us }
          : { status: 'id_conflict', leafIndex: null };
      });
    } catch (e) {
      broken = await rollback(client);
      throw asStorageError(e, 'The PostgreSQL ledger refused the write.');
    } finally {
      client.release(broken);
    }
  }

  async readPending(limit: number): Promise<QueuedEntry[]> {
    const { rows } = await this.query<PendingRow>(
      'SELECT seq, id, record, leaf_hash, fields, received_us FROM ledger_pending ORDER BY seq LIMIT $1',
      [limit],
    );
    return rows.map(toQueued);
  }

  async getQueued(id: string): Promise<QueuedEntry | null> {
    const { rows } = await this.query<PendingRow>(
      'SELECT seq, id, record, leaf_hash, fields, received_us FROM ledger_pending WHERE id = $1',
      [id],
    );
    return rows[0] ? toQueued(rows[0]) : null;
  }

  async pendingCount(): Promise<number> {
    const { rows } = await this.query<{ n: number }>(
      'SELECT count(*)::bigint AS n FROM ledger_pending',
    );
    return rows[0]?.n ?? 0;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }

  private async query<R extends pg.QueryResultRow>(
    sql: string,
    params?: readonly unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.closed) throw closedError();
    try {
      return await this.pool.query<R>(sql, params as unknown[] | undefined);
    } catch (e) {
      throw asStorageError(e, 'The PostgreSQL ledger query failed.');
    }
  }
}

/** A pool with this driver's type parsers and an error handler for idle connections. */
export function createPostgresPool(url: string, options: PostgresStorageOptions = {}): pg.Pool {
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
  migrations: readonly string[],
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
    for (let v = current; v < migrations.length; v++) await client.query(migrations[v]!);
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

/** Read-only opening: the ledger schema must exist and not be newer than this code. */
async function checkSchemaReadable(pool: pg.Pool, known: number, component: string): Promise<void> {
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
}

/** Rolls back; true if the connection is broken (then it must not go back to the pool). */
async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return false;
  } catch {
    return true;
  }
}

function appendError(e: unknown): StorageError {
  if (e instanceof StorageError) return e;
  const err = e as { code?: string; message?: string };
  if (err.code === '23505') {
    return new StorageError('storage_conflict', 'An entry of this batch is already stored.', {
      cause: err.message,
    });
  }
  return asStorageError(e, 'The PostgreSQL ledger refused the write.');
}

function toQueued(r: PendingRow): QueuedEntry {
  return {
    ...(JSON.parse(r.fields) as Omit<
      QueuedEntry,
      'seq' | 'id' | 'canonical' | 'leafHash' | 'receivedUs'
    >),
    seq: r.seq,
    id: r.id,
    canonical: r.record,
    leafHash: r.leaf_hash,
    receivedUs: r.received_us,
  };
}

/** The index columns of a queued entry (everything but id, bytes, hash and receive time). */
function indexFieldsJson(e: PendingEntry): string {
  const { id: _id, canonical: _c, leafHash: _h, receivedUs: _r, ...fields } = e;
  return JSON.stringify(fields);
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.compare(toBuffer(a), toBuffer(b)) === 0;
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

function toBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

function closedError(): StorageError {
  return new StorageError('storage_unavailable', 'The PostgreSQL ledger was closed.');
}

function asStorageError(e: unknown, message: string): StorageError {
  if (e instanceof StorageError) return e;
  // 53100 disk_full: the client can retry once there is room, like SQLite's SQLITE_FULL.
  if ((e as { code?: string }).code === '53100') {
    return new StorageError('storage_full', 'The PostgreSQL server is out of disk space.', {
      cause: (e as Error).message,
    });
  }
  return new StorageError('storage_unavailable', message, { cause: (e as Error).message });
}

/** The advisory lock key of the sequencer lease (one per database). */
const LOCK_SEQUENCER = 0x70726f76_0003n;

export interface PostgresLeaseOptions {
  /** How often the holder checks that it still holds the lease, ms; default 1000. */
  readonly checkMs?: number;
  /** Called once when the lease is lost (connection dropped, server restarted). */
  readonly onLost?: (reason: string) => void;
  readonly connectTimeoutMs?: number;
}

/**
 * The sequencer lease (issue 8, several collectors): a session-level `pg_advisory_lock` on a
 * dedicated connection. PostgreSQL releases it when that session ends, so when the holder dies
 * (kill -9 closes its socket at once; a vanished host is found by the TCP keepalives set here,
 * within about 4 s) another contender gets it on its next try.
 *
 * The lease only decides who should sequence; it is not what keeps the log from forking. Every
 * append checks the stored size under a transaction lock and the leaf index and checkpoint size
 * are primary keys, so a deposed holder that has not noticed yet can only fail its appends.
 */
export class PostgresLease {
  private lost = false;
  private timer: NodeJS.Timeout | null = null;
  private released: Promise<void> | null = null;

  private constructor(
    private readonly client: pg.Client,
    private readonly options: PostgresLeaseOptions,
  ) {
    const onGone = (reason: string) => this.lose(reason);
    client.on('error', (e) => onGone(e.message));
    client.on('end', () => onGone('connection closed'));
    this.timer = setInterval(() => {
      client.query('SELECT 1').catch((e: Error) => onGone(e.message));
    }, options.checkMs ?? 1000);
    this.timer.unref();
  }

  /** Takes the lease if it is free; null when another session holds it. */
  static async tryAcquire(
    url: string,
    options: PostgresLeaseOptions = {},
  ): Promise<PostgresLease | null> {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: options.connectTimeoutMs ?? 5000,
      keepAlive: true,
      types,
    });
    client.on('error', () => {}); // until the lease listens
    try {
      await client.connect();
      // Let the server notice a vanished holder (TCP only; a Unix socket closes at once).
      await client.query(
        'SET tcp_keepalives_idle = 2; SET tcp_keepalives_interval = 1; SET tcp_keepalives_count = 2',
      );
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock($1) AS ok',
        [LOCK_SEQUENCER.toString()],
      );
      if (rows[0]?.ok !== true) {
        await client.end();
        return null;
      }
    } catch (e) {
      await client.end().catch(() => {});
      throw asStorageError(e, 'Cannot reach PostgreSQL for the sequencer lease.');
    }
    return new PostgresLease(client, options);
  }

  /** Waits until the lease is free and takes it, trying every `pollMs` (default 500). */
  static async acquire(
    url: string,
    options: PostgresLeaseOptions & { pollMs?: number; signal?: AbortSignal } = {},
  ): Promise<PostgresLease> {
    for (;;) {
      options.signal?.throwIfAborted();
      try {
        const lease = await PostgresLease.tryAcquire(url, options);
        if (lease) return lease;
      } catch (e) {
        if (options.signal?.aborted) throw e;
        // PostgreSQL unreachable: keep trying.
      }
      await new Promise((r) => setTimeout(r, options.pollMs ?? 500));
    }
  }

  /** False once the lease is lost or released. */
  get held(): boolean {
    return !this.lost;
  }

  /** Gives the lease up (unlock, then close the session). */
  release(): Promise<void> {
    return (this.released ??= (async () => {
      const wasHeld = !this.lost;
      this.stop();
      if (wasHeld) {
        await this.client
          .query('SELECT pg_advisory_unlock($1)', [LOCK_SEQUENCER.toString()])
          .catch(() => {});
      }
      await this.client.end().catch(() => {});
    })());
  }

  private lose(reason: string): void {
    if (this.lost) return;
    this.stop();
    this.options.onLost?.(reason);
    void this.client.end().catch(() => {});
  }

  private stop(): void {
    this.lost = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}
