import { coverageFacts, type EventRecord } from '@provenant/core';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVERAGE_FLAG } from '../src/index.js';
import {
  PostgresLease,
  PostgresStorage,
  createPostgresPool,
  migratePostgres,
} from '../src/storage/postgres/index.js';
import { MIGRATIONS } from '../src/storage/postgres/schema.js';
import { skipPostgres, startTestPostgres } from '../../../test/support/postgres.js';
import type { TestPostgres } from '../../../test/support/postgres.js';
import type { NewNode } from '../src/merkle/index.js';
import { readNodes } from '../src/tiles/read.js';
import { INNER_TILES } from '../src/tiles/layout.js';
import {
  LEGACY_RECORDS,
  checkpointOf,
  describeDriverContract,
  expectSearchLike,
  legacyEntries,
  makeBatch,
  pendingEntry,
  preSearchEntries,
  reference,
  sorted,
} from '../src/testing/index.js';

const EMPTY = { size: 0, hashes: [] };

/** The checkpoint of a hand-written older ledger (its migration to tiles checks the root). */
async function insertCheckpoint(
  pool: pg.Pool,
  entries: readonly { leafHash: Uint8Array }[],
): Promise<void> {
  const c = checkpointOf(entries);
  await pool.query('INSERT INTO ledger_checkpoints (size, root_hash, note) VALUES ($1, $2, $3)', [
    c.size,
    Buffer.from(c.rootHash),
    c.note,
  ]);
}
const skip = skipPostgres();

describe.skipIf(skip)('postgres driver', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });

  describeDriverContract('postgres', async () =>
    PostgresStorage.open(await server.newDatabase(), { poolSize: 2 }),
  );

  it('queues an id sent to two collectors at once exactly once', async () => {
    const url = await server.newDatabase();
    const [a, b] = await Promise.all([PostgresStorage.open(url), PostgresStorage.open(url)]);
    for (let round = 0; round < 20; round++) {
      const e = pendingEntry(round);
      const [x, y] = await Promise.all([a.enqueue([e]), b.enqueue([e])]);
      // One stores it; the other finds it queued (with the same hash).
      expect([x[0]?.status, y[0]?.status].sort()).toEqual(['already_queued', 'queued']);
    }
    expect(await a.pendingCount()).toBe(20);
    await a.close();
    await b.close();
  });

  it('migrates a schema-1 ledger; the caller fills its coverage facts from the stored records', async () => {
    const url = await server.newDatabase();
    const pool = createPostgresPool(url);
    // The schema-1 layout, as the first release created it.
    await migratePostgres(
      pool,
      [
        `CREATE TABLE ledger_entries (leaf_index BIGINT PRIMARY KEY, id TEXT NOT NULL,
           record TEXT NOT NULL, leaf_hash BYTEA NOT NULL, type TEXT NOT NULL,
           time_us BIGINT NOT NULL, initiator TEXT, actor TEXT, task_id TEXT, trace_id TEXT,
           level TEXT NOT NULL);
         CREATE UNIQUE INDEX ledger_entries_id ON ledger_entries (id);
         CREATE TABLE ledger_nodes (level SMALLINT NOT NULL, idx BIGINT NOT NULL,
           hash BYTEA NOT NULL, PRIMARY KEY (level, idx));
         CREATE TABLE ledger_checkpoints (size BIGINT PRIMARY KEY, root_hash BYTEA NOT NULL,
           note TEXT NOT NULL);`,
      ],
      'ledger',
    );
    const entries = legacyEntries();
    for (const e of entries) {
      await pool.query(
        `INSERT INTO ledger_entries (leaf_index, id, record, leaf_hash, type, time_us, initiator,
           actor, task_id, trace_id, level) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          e.leafIndex,
          e.id,
          e.canonical,
          Buffer.from(e.leafHash),
          e.type,
          e.timeUs,
          e.initiator,
          e.actor,
          e.taskId,
          e.traceId,
          e.level,
        ],
      );
    }
    await insertCheckpoint(pool, entries);
    await pool.end();
    const s = await PostgresStorage.open(url);
    // Migrated: the columns are there, NULL until the caller fills them with core's rule.
    expect(await s.lacksCoverageFacts({})).toBe(true);
    const ro = await PostgresStorage.open(url, { readOnly: true });
    await expect(ro.fillCoverageFacts(() => LEGACY_RECORDS[0]!.facts)).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    await ro.close();
    const rule = (canonical: string) => coverageFacts(JSON.parse(canonical) as EventRecord);
    expect(await s.fillCoverageFacts(rule)).toBe(entries.length);
    expect(await s.fillCoverageFacts(rule)).toBe(0);
    expect(await s.lacksCoverageFacts({})).toBe(false);
    const bounds = [300, 900, 3600];
    expect(sorted(await s.coverageCounts({}, bounds))).toEqual(sorted(reference(entries, {})));
    const all = COVERAGE_FLAG.action | 30;
    for (const [i, l] of LEGACY_RECORDS.entries()) {
      const same = await s.queryEntries({
        coverage: { flagsAll: l.facts.flags, flagsNone: all & ~l.facts.flags },
        limit: 100,
      });
      expect(
        same.map((e) => e.leafIndex),
        `record ${i}`,
      ).toContain(i);
    }
    const long = await s.queryEntries({ coverage: { lifetimeGtSec: 3600 }, limit: 100 });
    expect(long.map((e) => e.leafIndex)).toEqual([4]);
    await s.close();
  });

  it('migrates a schema-3 ledger: grant facts of the older rule are recomputed, a forged grant no longer counts', async () => {
    const url = await server.newDatabase();
    const pool = createPostgresPool(url);
    // The schema as it was before: every grant record stored with its lifetime, the
    // producer-posted one (LEGACY_RECORDS) too.
    await migratePostgres(pool, MIGRATIONS.slice(0, 3), 'ledger');
    await pool.end();
    const entries = legacyEntries().map((e, i) => {
      const r = LEGACY_RECORDS[i]!.record;
      const c = r['credential'] as { iat: number; exp: number } | undefined;
      const grant = r['type'] === 'credential.issued' || r['type'] === 'delegation.granted';
      return grant && c ? { ...e, coverage: { ...e.coverage!, lifetimeSec: c.exp - c.iat } } : e;
    });
    const raw = createPostgresPool(url);
    for (const e of entries) {
      await raw.query(
        `INSERT INTO ledger_entries (leaf_index, id, record, leaf_hash, type, time_us, initiator,
           actor, task_id, trace_id, level, cov_flags, cov_lifetime, cov_instance)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
        [
          e.leafIndex,
          e.id,
          e.canonical,
          Buffer.from(e.leafHash),
          e.type,
          e.timeUs,
          e.initiator,
          e.actor,
          e.taskId,
          e.traceId,
          e.level,
          e.coverage!.flags,
          e.coverage!.lifetimeSec,
          e.coverage!.instance,
        ],
      );
    }
    await insertCheckpoint(raw, entries);
    await raw.end();
    const s = await PostgresStorage.open(url);
    expect(await s.lacksCoverageFacts({})).toBe(true);
    const rule = (canonical: string) => coverageFacts(JSON.parse(canonical) as EventRecord);
    expect(await s.fillCoverageFacts(rule)).toBe(
      entries.filter((e) => e.coverage!.lifetimeSec !== null).length,
    );
    const counts = await s.coverageCounts({}, [300, 900, 3600]);
    expect(sorted(counts)).toEqual(sorted(reference(legacyEntries(), {})));
    expect(counts.lifetimes.maxSec).toBe(7200); // not the forged 100,000 s
    expect(await s.queryEntries({ coverage: { lifetimeGtSec: 7200 }, limit: 10 })).toEqual([]);
    await s.close();
  });

  it('migrates a schema-4 ledger (migration 5): search columns filled from the stored records', async () => {
    const url = await server.newDatabase();
    const pool = createPostgresPool(url);
    await migratePostgres(pool, MIGRATIONS.slice(0, 4), 'ledger');
    const entries = preSearchEntries();
    for (const e of entries) {
      await pool.query(
        `INSERT INTO ledger_entries (leaf_index, id, record, leaf_hash, type, time_us, initiator,
           actor, task_id, trace_id, level) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
        [
          e.leafIndex,
          e.id,
          e.canonical,
          Buffer.from(e.leafHash),
          e.type,
          e.timeUs,
          e.initiator,
          e.actor,
          e.taskId,
          e.traceId,
          e.level,
        ],
      );
    }
    await insertCheckpoint(pool, entries);
    await pool.end();
    const s = await PostgresStorage.open(url);
    await expectSearchLike(s, entries);
    await s.close();
  });

  it('queues any text byte for byte (the records go as one array literal, not escaped by node-pg)', async () => {
    const url = await server.newDatabase();
    const s = await PostgresStorage.open(url);
    const texts = [
      '{"a":"quote \\" and backslash \\\\ and \\n escaped"}',
      'raw "quotes", \\ backslashes, {braces}, commas, NULL',
      'caf\u00e9 \u20ac \u{1f600} and a raw\ttab\nnewline',
      '',
      'NULL',
    ];
    await s.enqueue(texts.map((t, i) => pendingEntry(i, t)));
    const rows = await s.readPending(10);
    expect(rows.map((r) => r.canonical)).toEqual(texts);
    await s.close();
  });

  it('migrates a queue of schema 5 (migration 6): rows queued with their facets as JSON keep them', async () => {
    const url = await server.newDatabase();
    const pool = createPostgresPool(url);
    await migratePostgres(pool, MIGRATIONS.slice(0, 5), 'ledger');
    const queued = [pendingEntry(1), pendingEntry(2)];
    for (const e of queued) {
      const { id, canonical, leafHash, receivedUs, ...fields } = e;
      await pool.query(
        `INSERT INTO ledger_pending (id, record, leaf_hash, fields, received_us)
           VALUES ($1, $2, $3, $4, $5)`,
        [id, canonical, Buffer.from(leafHash), JSON.stringify(fields), receivedUs],
      );
    }
    await pool.end();
    const s = await PostgresStorage.open(url);
    const rows = await s.readPending(10);
    expect(rows.map(({ seq: _seq, leafHash: _h, ...rest }) => rest)).toEqual(
      queued.map(({ leafHash: _h, ...rest }) => rest),
    );
    await s.close();
  });

  /** A schema-6 database as the code before tiles wrote it: the tree in ledger_nodes. */
  async function schema6Database(count: number): Promise<{ url: string; nodes: NewNode[] }> {
    const url = await server.newDatabase();
    const s = await PostgresStorage.open(url);
    const built = makeBatch(EMPTY, count);
    await s.append(built.batch);
    await s.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DROP TABLE ledger_tiles;
      CREATE TABLE ledger_nodes (level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
        PRIMARY KEY (level, idx));
      UPDATE provenant_schema SET version = 6 WHERE component = 'ledger';`);
    const ns = built.nodes;
    await admin.query(
      `INSERT INTO ledger_nodes SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])`,
      [ns.map((n) => n.level), ns.map((n) => n.index), ns.map((n) => Buffer.from(n.hash))],
    );
    await admin.end();
    return { url, nodes: ns };
  }

  it('migrates a schema-6 ledger to hash tiles (migration 7): rebuilt, checked, ledger_nodes dropped', async () => {
    const { url, nodes } = await schema6Database(600);
    const ro = await PostgresStorage.open(url, { readOnly: true });
    const [legacy] = await ro.getTiles([{ level: 1, index: 0 }]);
    expect(legacy!.length).toBe(32 * 2); // tree level 8: nodes 0 and 1 (leaves 0..511)
    await ro.close();
    const s = await PostgresStorage.open(url);
    const all = await readNodes(s, nodes);
    expect(all.map((h) => Buffer.from(h).toString('hex'))).toEqual(
      nodes.map((n) => Buffer.from(n.hash).toString('hex')),
    );
    const [t0, partial] = await s.getTiles([
      { level: 1, index: 0 },
      { level: 0, index: 2 },
    ]);
    expect(Buffer.from(t0!)).toEqual(Buffer.from(legacy!));
    expect(partial!.length).toBe(32 * (600 - 512));
    await s.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    const { rows } = await admin.query(
      "SELECT to_regclass('ledger_nodes') AS n, (SELECT version FROM provenant_schema WHERE component = 'ledger') AS v",
    );
    expect(rows[0]).toEqual({ n: null, v: 8 });
    await admin.end();
  });

  it('does not migrate a ledger whose leaf hashes do not give the signed root', async () => {
    const { url } = await schema6Database(300);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('UPDATE ledger_entries SET leaf_hash = $1 WHERE leaf_index = 123', [
      Buffer.alloc(32, 9),
    ]);
    await expect(PostgresStorage.open(url)).rejects.toMatchObject({
      code: 'storage_corrupt',
      message: expect.stringContaining(
        'does not have the root of the latest checkpoint',
      ) as unknown,
    });
    const { rows } = await admin.query(
      "SELECT (SELECT count(*)::int FROM ledger_nodes) AS n, to_regclass('ledger_tiles') AS t, (SELECT version FROM provenant_schema WHERE component = 'ledger') AS v",
    );
    expect(rows[0]).toEqual({ n: 296, t: null, v: 6 });
    await admin.end();
  });

  it('migrates a schema-7 ledger (migration 8): the inner tiles computed from the stored tiles', async () => {
    const url = await server.newDatabase();
    const s = await PostgresStorage.open(url);
    const built = makeBatch(EMPTY, 600);
    await s.append(built.batch);
    const ids = [0, 1, 2].map((index) => ({ level: INNER_TILES, index }));
    const written = await s.getTiles(ids);
    expect(written.map((t) => t!.length / 32)).toEqual([30, 30, 8]);
    await s.close();
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`DELETE FROM ledger_tiles WHERE level >= ${INNER_TILES}`);
    await admin.query(`UPDATE provenant_schema SET version = 7 WHERE component = 'ledger'`);
    const hex = (hs: readonly (Uint8Array | null)[]) =>
      hs.map((h) => Buffer.from(h!).toString('hex'));
    const migrated = await PostgresStorage.open(url);
    expect(hex(await migrated.getTiles(ids))).toEqual(hex(written));
    expect(hex(await readNodes(migrated, built.nodes))).toEqual(
      hex(built.nodes.map((n) => n.hash)),
    );
    await migrated.close();
    const { rows } = await admin.query(
      "SELECT version AS v FROM provenant_schema WHERE component = 'ledger'",
    );
    expect(rows[0]).toEqual({ v: 8 });
    await admin.end();
  });

  it('finds a row deleted from the middle (the tree and checkpoints do not show it)', async () => {
    const url = await server.newDatabase();
    const s = await PostgresStorage.open(url, { poolSize: 2 });
    await s.append(makeBatch(EMPTY, 50).batch);
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('DELETE FROM ledger_entries WHERE leaf_index IN (17, 30)');
    expect((await s.readState()).size).toBe(50);
    expect(await s.firstMissingLeaf(50)).toBe(17);
    expect(await s.firstMissingLeaf(17)).toBeNull();
    await admin.query('DELETE FROM ledger_entries WHERE leaf_index = 0');
    expect(await s.firstMissingLeaf(50)).toBe(0);
    await admin.end();
    await s.close();
  });

  it('keeps committed batches across reopen and migrates once', async () => {
    const url = await server.newDatabase();
    const [s1, s2] = await Promise.all([PostgresStorage.open(url), PostgresStorage.open(url)]);
    const { batch } = makeBatch(EMPTY, 5);
    await s1.append(batch);
    await s1.close();
    expect((await s2.readState()).size).toBe(5);
    await s2.close();
    const s3 = await PostgresStorage.open(url);
    expect((await s3.getEntries(0, 10)).map((e) => e.leafIndex)).toEqual([0, 1, 2, 3, 4]);
    await s3.close();
  });

  it('lets exactly one of two racing writers extend a size (never a fork)', async () => {
    const url = await server.newDatabase();
    const a = await PostgresStorage.open(url);
    const b = await PostgresStorage.open(url);
    const base = makeBatch(EMPTY, 3);
    await a.append(base.batch);
    const left = makeBatch(base.frontier, 2, (i) => ({ canonical: `{"left":${i}}` }));
    const right = makeBatch(base.frontier, 4, (i) => ({ canonical: `{"right":${i}}` }));
    const results = await Promise.allSettled([a.append(left.batch), b.append(right.batch)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const rejected = results.find((r) => r.status === 'rejected');
    expect(rejected?.reason).toMatchObject({ code: 'storage_conflict' });
    const state = await a.readState();
    expect([5, 7]).toContain(state.size);
    expect(state.checkpoint?.size).toBe(state.size);
    await a.close();
    await b.close();
  });

  it('refuses a database of a newer schema version', async () => {
    const url = await server.newDatabase();
    const s = await PostgresStorage.open(url);
    await s.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`UPDATE provenant_schema SET version = 99 WHERE component = 'ledger'`);
    await client.end();
    await expect(PostgresStorage.open(url)).rejects.toMatchObject({ code: 'storage_corrupt' });
  });

  it('commits appends synchronously even where the server default is synchronous_commit=off', async () => {
    const url = await server.newDatabase();
    const name = url.split('?')[0]!.split('/').pop()!;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`ALTER DATABASE ${name} SET synchronous_commit = off`);
    await admin.end();
    const s = await PostgresStorage.open(url);
    expect((s as unknown as { forceSyncCommit: boolean }).forceSyncCommit).toBe(true);
    await s.append(makeBatch(EMPTY, 2).batch);
    expect((await s.readState()).size).toBe(2);
    await s.close();
  });

  it('reports storage_unavailable when the server cannot be reached', async () => {
    await expect(
      PostgresStorage.open('postgres://nobody@127.0.0.1:1/none', { connectTimeoutMs: 1000 }),
    ).rejects.toMatchObject({ code: 'storage_unavailable' });
  });

  it('stores a 10,000-entry batch in one transaction', async () => {
    const s = await PostgresStorage.open(await server.newDatabase());
    const { batch } = makeBatch(EMPTY, 10_000);
    const t0 = performance.now();
    await s.append(batch);
    const ms = performance.now() - t0;
    expect((await s.readState()).size).toBe(10_000);
    expect(
      (await s.queryEntries({ actor: 'agent-2', limit: 2, afterLeafIndex: 9000 })).length,
    ).toBe(2);
    await s.close();
    console.log(
      `postgres: 10,000 entries in one append: ${ms.toFixed(0)} ms (${((ms * 1000) / 10_000).toFixed(1)} µs/entry)`,
    );
  });

  /** Makes the next COMMIT of `s` fail as a lost connection would, after or without committing. */
  function loseNextCommit(s: PostgresStorage, committed: boolean): void {
    type Connect = (cb?: unknown) => Promise<pg.PoolClient>;
    const pool = (s as unknown as { pool: { connect: Connect } }).pool;
    const connect = pool.connect.bind(pool);
    let armed = true;
    pool.connect = async (cb?: unknown) => {
      if (cb !== undefined || !armed) return connect(cb); // pool.query uses the callback form
      armed = false;
      const client = await connect();
      type Query = (sql: string, params?: unknown[]) => Promise<unknown>;
      const query = client.query.bind(client) as Query;
      (client as unknown as { query: Query }).query = async (sql, params) => {
        if (sql === 'COMMIT') {
          if (committed) await query(sql);
          throw new Error('Connection terminated unexpectedly');
        }
        return query(sql, params);
      };
      return client;
    };
  }

  it('confirms a batch whose COMMIT answer was lost when it is stored', async () => {
    const s = await PostgresStorage.open(await server.newDatabase());
    const first = makeBatch(EMPTY, 3);
    loseNextCommit(s, true);
    await s.append(first.batch);
    expect((await s.readState()).size).toBe(3);
    await s.append(makeBatch(first.frontier, 2).batch);
    expect((await s.readState()).size).toBe(5);
    await s.close();
  });

  it('fails a batch whose COMMIT answer was lost when it is not stored', async () => {
    const s = await PostgresStorage.open(await server.newDatabase());
    const first = makeBatch(EMPTY, 3);
    loseNextCommit(s, false);
    await expect(s.append(first.batch)).rejects.toMatchObject({
      code: 'storage_unavailable',
      details: { outcome: 'not_stored' },
    });
    expect(await s.readState()).toEqual({ size: 0, checkpoint: null });
    await s.append(first.batch);
    expect((await s.readState()).size).toBe(3);
    await s.close();
  });

  describe('sequencer lease', () => {
    it('is held by one session at a time and passes on release', async () => {
      const url = await server.newDatabase();
      const a = await PostgresLease.tryAcquire(url);
      expect(a?.held).toBe(true);
      expect(await PostgresLease.tryAcquire(url)).toBeNull();
      const waiting = PostgresLease.acquire(url, { pollMs: 50 });
      await a!.release();
      expect(a!.held).toBe(false);
      const b = await waiting;
      expect(b.held).toBe(true);
      await b.release();
    });

    it('passes to another contender when the holder session dies, and the holder knows', async () => {
      const url = await server.newDatabase();
      let lostReason: string | null = null;
      const a = (await PostgresLease.tryAcquire(url, {
        checkMs: 100,
        onLost: (r) => (lostReason = r),
      }))!;
      const t0 = Date.now();
      const waiting = PostgresLease.acquire(url, { pollMs: 50 });
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      // What a kill -9 of the holder does to its session, seen from the server.
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_locks
          WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid()`,
      );
      await admin.end();
      const b = await waiting;
      expect(Date.now() - t0).toBeLessThan(5000);
      await expect.poll(() => lostReason, { timeout: 3000 }).not.toBeNull();
      expect(a.held).toBe(false);
      await a.release();
      await b.release();
    });
  });
});
