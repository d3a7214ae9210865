import { coverageFacts, type EventRecord } from '@provenant/core';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { COVERAGE_FLAG } from '../src/index.js';
import Database from 'better-sqlite3';
import { SqliteStorage } from '../src/storage/sqlite/index.js';
import { readNodes } from '../src/tiles/read.js';
import { INNER_TILES } from '../src/tiles/layout.js';
import type { NewNode } from '../src/merkle/index.js';
import { SqliteReadWorker } from '../src/storage/sqlite/read-worker.js';
import {
  LEGACY_RECORDS,
  checkpointOf,
  describeDriverContract,
  expectSearchLike,
  legacyEntries,
  preSearchEntries,
  makeBatch,
  reference,
  sorted,
} from '../src/testing/index.js';

const dir = mkdtempSync(join(tmpdir(), 'provenant-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describeDriverContract('sqlite', async () => new SqliteStorage(join(dir, `t${n++}.db`)));

describe('sqlite driver', () => {
  it('migrates a schema-1 file when opened for writing; the caller fills its coverage facts', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = join(dir, 'v1.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE entries (leaf_index INTEGER PRIMARY KEY, id TEXT NOT NULL, record TEXT NOT NULL,
        leaf_hash BLOB NOT NULL, type TEXT NOT NULL, time_us INTEGER NOT NULL, initiator TEXT,
        actor TEXT, task_id TEXT, trace_id TEXT, level TEXT NOT NULL);
      CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL, note TEXT NOT NULL);`);
    const entries = legacyEntries();
    const insert = db.prepare('INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    for (const e of entries) {
      insert.run(
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
      );
    }
    const c = checkpointOf(entries);
    db.prepare('INSERT INTO checkpoints VALUES (?, ?, ?)').run(c.size, c.rootHash, c.note);
    db.close();
    const ro = new SqliteStorage(file, { readonly: true });
    expect(await ro.lacksCoverageFacts({})).toBe(true);
    await expect(ro.fillCoverageFacts(() => LEGACY_RECORDS[0]!.facts)).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    expect((await ro.readState()).size).toBe(entries.length);
    await ro.close();
    const s = new SqliteStorage(file);
    // Migrated: the columns are there, NULL until the caller fills them with core's rule.
    expect(await s.lacksCoverageFacts({})).toBe(true);
    const rule = (canonical: string) => coverageFacts(JSON.parse(canonical) as EventRecord);
    expect(await s.fillCoverageFacts(rule)).toBe(entries.length);
    expect(await s.fillCoverageFacts(rule)).toBe(0);
    expect(await s.lacksCoverageFacts({})).toBe(false);
    expect(sorted(await s.coverageCounts({}, [300, 900, 3600]))).toEqual(
      sorted(reference(entries, {})),
    );
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
    await s.close();
  });

  it('migrates a schema-2 file: grant facts of the older rule are recomputed, a forged grant no longer counts', async () => {
    // A ledger written before coverage counted only the issuer's own grants: every grant record
    // was stored with its lifetime, the producer-posted one (LEGACY_RECORDS) too.
    const file = join(dir, 'v2.db');
    const olderRule = (i: number) => {
      const l = LEGACY_RECORDS[i]!;
      const c = l.record['credential'] as { iat: number; exp: number } | undefined;
      const grant =
        l.record['type'] === 'credential.issued' || l.record['type'] === 'delegation.granted';
      return { ...l.facts, lifetimeSec: grant && c ? c.exp - c.iat : l.facts.lifetimeSec };
    };
    const entries = legacyEntries().map((e, i) => ({ ...e, coverage: olderRule(i) }));
    const forged = LEGACY_RECORDS.findIndex(
      (l) => l.facts.lifetimeSec === null && l.record['credential'],
    );
    expect(entries[forged]!.coverage.lifetimeSec).toBe(100_000);
    const old = new SqliteStorage(file);
    const batch = makeBatch({ size: 0, hashes: [] }, entries.length, (i) => entries[i]!).batch;
    await old.append(batch);
    await old.close();
    const db = new Database(file);
    db.prepare("UPDATE meta SET value = '2' WHERE key = 'schema_version'").run();
    db.close();

    // Read-only, the older facts are not trusted: coverage is counted from the records.
    const ro = new SqliteStorage(file, { readonly: true });
    expect(await ro.lacksCoverageFacts({})).toBe(true);
    await ro.close();

    const s = new SqliteStorage(file);
    expect(await s.lacksCoverageFacts({})).toBe(true);
    const rule = (canonical: string) => coverageFacts(JSON.parse(canonical) as EventRecord);
    // Only the entries that had a lifetime are filled again.
    expect(await s.fillCoverageFacts(rule)).toBe(
      entries.filter((e) => e.coverage.lifetimeSec !== null).length,
    );
    const counts = await s.coverageCounts({}, [300, 900, 3600]);
    expect(sorted(counts)).toEqual(sorted(reference(legacyEntries(), {})));
    expect(counts.lifetimes.maxSec).toBe(7200); // not the forged 100,000 s
    const forgedRows = await s.queryEntries({ coverage: { lifetimeGtSec: 7200 }, limit: 10 });
    expect(forgedRows).toEqual([]);
    await s.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: '6',
    });
    check.close();
  });

  it('migrates a schema-3 file to schema 4 (and on): search columns filled from the stored records, indexed', async () => {
    const file = join(dir, 'v3.db');
    const db = new Database(file);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '3');
      CREATE TABLE entries (leaf_index INTEGER PRIMARY KEY, id TEXT NOT NULL, record TEXT NOT NULL,
        leaf_hash BLOB NOT NULL, type TEXT NOT NULL, time_us INTEGER NOT NULL, initiator TEXT,
        actor TEXT, task_id TEXT, trace_id TEXT, level TEXT NOT NULL, cov_flags INTEGER,
        cov_lifetime INTEGER, cov_instance TEXT);
      CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE checkpoints (size INTEGER PRIMARY KEY, root_hash BLOB NOT NULL, note TEXT NOT NULL);`);
    const entries = preSearchEntries();
    const insert = db.prepare(
      'INSERT INTO entries VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL)',
    );
    for (const e of entries) {
      insert.run(
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
      );
    }
    const c = checkpointOf(entries);
    db.prepare('INSERT INTO checkpoints VALUES (?, ?, ?)').run(c.size, c.rootHash, c.note);
    db.close();
    // Read-only (offline verification): read as it is, not migrated; a search says why not.
    const ro = new SqliteStorage(file, { readonly: true });
    expect((await ro.queryEntries({ limit: 5 })).length).toBe(5);
    await expect(ro.queryEntries({ action: 'github.*', limit: 5 })).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    await ro.close();
    const s = new SqliteStorage(file);
    await expectSearchLike(s, entries);
    expect((await s.queryPlan({ action: 'github.*', limit: 5 })).join('\n')).toContain(
      'entries_action',
    );
    await s.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: '6',
    });
    check.close();
  });

  /**
   * A schema-4 file as the code before tiles wrote it: the same entries and checkpoints, the
   * tree as one row per subtree hash in table nodes.
   */
  async function schema4File(
    name: string,
    count: number,
  ): Promise<{ file: string; nodes: NewNode[] }> {
    const file = join(dir, name);
    const s = new SqliteStorage(file);
    const built = makeBatch({ size: 0, hashes: [] }, count);
    await s.append(built.batch);
    await s.close();
    const db = new Database(file);
    db.exec(`DROP TABLE tiles;
      CREATE TABLE nodes (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      UPDATE meta SET value = '4' WHERE key = 'schema_version';`);
    const insert = db.prepare('INSERT INTO nodes VALUES (?, ?, ?)');
    for (const n of built.nodes) insert.run(n.level, n.index, n.hash);
    db.close();
    return { file, nodes: built.nodes };
  }

  it('migrates a schema-4 file to hash tiles: rebuilt, checked against the checkpoint, table nodes dropped', async () => {
    const { file, nodes } = await schema4File('v4.db', 600);
    // Read-only (offline verification), the older file reads its tree from table nodes.
    const ro = new SqliteStorage(file, { readonly: true });
    const [legacy] = await ro.getTiles([{ level: 1, index: 0 }]);
    expect(legacy!.length).toBe(32 * 2); // tree level 8: nodes 0 and 1 (leaves 0..511)
    await ro.close();
    const s = new SqliteStorage(file);
    const all = await readNodes(s, nodes);
    expect(all.map((h) => Buffer.from(h).toString('hex'))).toEqual(
      nodes.map((n) => Buffer.from(n.hash).toString('hex')),
    );
    const [t0, full, partial] = await s.getTiles([
      { level: 1, index: 0 },
      { level: 0, index: 1 },
      { level: 0, index: 2 },
    ]);
    expect(Buffer.from(t0!)).toEqual(Buffer.from(legacy!));
    expect(full!.length).toBe(32 * 256);
    expect(partial!.length).toBe(32 * (600 - 512));
    await s.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: '6',
    });
    expect(
      check.prepare("SELECT name FROM sqlite_master WHERE name IN ('nodes', 'tiles')").all(),
    ).toEqual([{ name: 'tiles' }]);
    check.close();
  });

  it('migrates a schema-5 file to schema 6: the inner tiles computed from the stored tiles', async () => {
    const file = join(dir, 'v5.db');
    const s = new SqliteStorage(file);
    const built = makeBatch({ size: 0, hashes: [] }, 600);
    await s.append(built.batch);
    const ids = [0, 1, 2].map((index) => ({ level: INNER_TILES, index }));
    const written = await s.getTiles([...ids, { level: INNER_TILES + 1, index: 0 }]);
    // Tiles 0/0, 0/1 full (30 inner hashes), 0/2 of 88 hashes (5 + 2 + 1 + 0), 1/0 of 2: none.
    expect(written.map((t) => (t === null ? null : t.length / 32))).toEqual([30, 30, 8, null]);
    await s.close();
    const db = new Database(file);
    db.exec(`DELETE FROM tiles WHERE level >= ${INNER_TILES};
      UPDATE meta SET value = '5' WHERE key = 'schema_version';`);
    db.close();
    // Read-only, the older file has no inner tiles: nodes are hashed from the tiles below.
    const ro = new SqliteStorage(file, { readonly: true });
    expect(await ro.getTiles(ids)).toEqual([null, null, null]);
    const hex = (hs: readonly Uint8Array[]) => hs.map((h) => Buffer.from(h).toString('hex'));
    expect(hex(await readNodes(ro, built.nodes))).toEqual(hex(built.nodes.map((n) => n.hash)));
    await ro.close();
    const migrated = new SqliteStorage(file);
    expect(hex((await migrated.getTiles(ids)) as Uint8Array[])).toEqual(
      hex(written.slice(0, 3) as Uint8Array[]),
    );
    expect(hex(await readNodes(migrated, built.nodes))).toEqual(
      hex(built.nodes.map((n) => n.hash)),
    );
    await migrated.close();
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: '6',
    });
    check.close();
  });

  it('does not migrate a schema-4 file whose leaf hashes do not give the signed root', async () => {
    const { file } = await schema4File('v4-bad.db', 300);
    const db = new Database(file);
    db.prepare('UPDATE entries SET leaf_hash = ? WHERE leaf_index = 123').run(Buffer.alloc(32, 9));
    db.close();
    expect(() => new SqliteStorage(file)).toThrow(
      expect.objectContaining({
        code: 'storage_unavailable',
        details: expect.objectContaining({
          cause: expect.stringContaining('does not have the root of the latest checkpoint'),
        }) as unknown,
      }),
    );
    // Nothing changed: still schema 4, its nodes kept, no tiles.
    const check = new Database(file, { readonly: true });
    expect(check.prepare("SELECT value FROM meta WHERE key = 'schema_version'").get()).toEqual({
      value: '4',
    });
    expect(check.prepare('SELECT count(*) AS n FROM nodes').get()).toEqual({ n: 296 });
    expect(check.prepare('SELECT count(*) AS n FROM tiles').get()).toEqual({ n: 0 });
    check.close();
  });

  it('keeps committed batches across reopen', async () => {
    const file = join(dir, 'reopen.db');
    const s1 = new SqliteStorage(file);
    const { batch } = makeBatch({ size: 0, hashes: [] }, 5);
    await s1.append(batch);
    await s1.close();
    const s2 = new SqliteStorage(file, { readonly: true });
    expect((await s2.readState()).size).toBe(5);
    expect((await s2.readLeaves(0, 10)).map((l) => l.leafIndex)).toEqual([0, 1, 2, 3, 4]);
    await expect(s2.append(makeBatch({ size: 0, hashes: [] }, 1).batch)).rejects.toMatchObject({
      code: 'storage_read_only',
    });
    await s2.close();
  });

  it('finds a row deleted from the middle (the tree and checkpoints do not show it)', async () => {
    const file = join(dir, 'gap.db');
    const s = new SqliteStorage(file);
    await s.append(makeBatch({ size: 0, hashes: [] }, 50).batch);
    const remove = (where: string) => {
      const db = new Database(file);
      db.prepare(`DELETE FROM entries WHERE ${where}`).run();
      db.close();
    };
    remove('leaf_index IN (17, 30)');
    expect((await s.readState()).size).toBe(50); // the highest leaf is still there
    expect(await s.firstMissingLeaf(50)).toBe(17);
    expect(await s.firstMissingLeaf(17)).toBeNull();
    remove('leaf_index = 0');
    expect(await s.firstMissingLeaf(50)).toBe(0);
    await s.close();
  });

  it('refuses a file that is not a Provenant ledger', async () => {
    const Database = (await import('better-sqlite3')).default;
    const file = join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE t (x)');
    db.close();
    expect(() => new SqliteStorage(file, { readonly: true })).toThrow(
      expect.objectContaining({ code: 'storage_corrupt' }),
    );
  });

  it('reports storage_unavailable for a path it cannot open', () => {
    expect(() => new SqliteStorage(join(dir, 'missing', 'x.db'), { readonly: true })).toThrow(
      expect.objectContaining({ code: 'storage_unavailable' }),
    );
  });
});

describe('sqlite read worker', () => {
  const fresh = () => join(dir, `w${n++}.db`);

  it('runs large reads off the event loop: the loop turns while a read is in flight', async () => {
    const s = new SqliteStorage(fresh());
    await s.append(makeBatch({ size: 0, hashes: [] }, 2000).batch);
    let turns = 0;
    let done = false;
    const read = s.queryEntries({ limit: 2000 }).finally(() => (done = true));
    // On the main connection the read would be over before the first turn (0 turns).
    while (!done) {
      await new Promise((resolve) => setImmediate(resolve));
      turns++;
    }
    expect((await read).length).toBe(2000);
    expect(turns).toBeGreaterThan(0);
    await s.close();
  });

  it('sees every commit of the writing connection (WAL) as soon as the append resolved', async () => {
    const s = new SqliteStorage(fresh());
    let frontier: { size: number; hashes: readonly Uint8Array[] } = { size: 0, hashes: [] };
    for (let round = 1; round <= 3; round++) {
      const next = makeBatch(frontier, 5);
      await s.append(next.batch);
      frontier = next.frontier;
      expect((await s.queryEntries({ limit: 100 })).length).toBe(round * 5);
      expect((await s.getEntries(0, 100)).map((e) => e.leafIndex)).toEqual([
        ...Array(round * 5).keys(),
      ]);
      expect((await s.readLeaves(0, 100)).length).toBe(round * 5);
    }
    const [stored] = await s.getEntries(0, 1);
    expect(Buffer.isBuffer(stored!.leafHash)).toBe(true);
    await s.close();
  });

  it('hands back a failed read as a StorageError with the SQLite code', async () => {
    const reader = new SqliteReadWorker(fresh());
    await expect(reader.all('SELECT 1')).rejects.toMatchObject({ code: 'storage_unavailable' });
    const file = fresh();
    new SqliteStorage(file); // creates the schema; left open, as a collector would be
    const ok = new SqliteReadWorker(file);
    await expect(ok.all('SELECT * FROM no_such_table')).rejects.toMatchObject({
      code: 'storage_unavailable',
      details: { sqlite_code: 'SQLITE_ERROR' },
    });
    // The worker survives a failed statement.
    expect(await ok.all<{ x: number }>('SELECT 1 AS x')).toEqual([{ x: 1 }]);
    await ok.close();
    const garbage = fresh();
    writeFileSync(garbage, 'not a database at all, just some bytes '.repeat(200));
    const bad = new SqliteReadWorker(garbage);
    await expect(bad.all('SELECT * FROM sqlite_master')).rejects.toMatchObject({
      code: 'storage_corrupt',
    });
    await bad.close();
    await reader.close();
  });

  it('refuses reads in flight and after close, and close does not wait for them', async () => {
    const reader = new SqliteReadWorker(fresh());
    const file = fresh();
    new SqliteStorage(file);
    const r = new SqliteReadWorker(file);
    const slow = r.all(
      'WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) AS n FROM c',
    );
    const refused = slow.catch((e: unknown) => e);
    await r.close();
    expect(await refused).toMatchObject({ code: 'storage_unavailable' });
    await expect(r.all('SELECT 1')).rejects.toMatchObject({ code: 'storage_unavailable' });
    await reader.close();
  });

  it('an idle reader does not keep a process alive (a real process, the built package)', async () => {
    const file = fresh();
    const script = `
      import { SqliteStorage } from '@provenant/ledger/sqlite';
      const s = new SqliteStorage(${JSON.stringify(file)});
      console.log((await s.queryEntries({ limit: 10 })).length);
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: join(dirname(fileURLToPath(import.meta.url)), '..') },
    );
    expect(stdout.trim()).toBe('0');
  });
});

describe('sqlite write worker', () => {
  const fresh = () => join(dir, `c${n++}.db`);

  it('commits off the event loop: the loop turns while an append is in flight', async () => {
    const turnsDuring = async (s: SqliteStorage) => {
      let turns = 0;
      let done = false;
      const append = s.append(makeBatch({ size: 0, hashes: [] }, 5000).batch);
      void append.finally(() => (done = true));
      while (!done) {
        await new Promise((resolve) => setImmediate(resolve));
        turns++;
      }
      await append;
      expect((await s.readState()).size).toBe(5000);
      await s.close();
      return turns;
    };
    // On the main connection the commit is over before the first turn.
    expect(await turnsDuring(new SqliteStorage(fresh(), { writeWorker: false }))).toBe(1);
    expect(await turnsDuring(new SqliteStorage(fresh()))).toBeGreaterThan(1);
  });

  it('lets appends posted before close finish, durable for the next connection', async () => {
    const file = fresh();
    const s = new SqliteStorage(file);
    const first = makeBatch({ size: 0, hashes: [] }, 100);
    const a = s.append(first.batch);
    const b = s.append(makeBatch(first.frontier, 100).batch);
    await s.close();
    await Promise.all([a, b]);
    const again = new SqliteStorage(file, { readonly: true });
    expect((await again.readState()).size).toBe(200);
    await again.close();
    await expect(s.append(makeBatch({ size: 0, hashes: [] }, 1).batch)).rejects.toMatchObject({
      code: 'storage_unavailable',
    });
  });

  it('hands back refusals and SQLite errors as StorageErrors, and nothing half-written', async () => {
    const s = new SqliteStorage(fresh());
    const first = makeBatch({ size: 0, hashes: [] }, 10);
    await s.append(first.batch);
    // Built on a size the log no longer has.
    await expect(s.append(first.batch)).rejects.toMatchObject({ code: 'storage_conflict' });
    // A UNIQUE violation half-way through a batch: the SQLite error, rolled back as a whole.
    const next = makeBatch(first.frontier, 10, (i) =>
      i === 15 ? { id: first.batch.entries[0]!.id } : {},
    );
    await expect(s.append(next.batch)).rejects.toMatchObject({ code: 'storage_conflict' });
    expect((await s.readState()).size).toBe(10);
    // The worker stays usable.
    await s.append(makeBatch(first.frontier, 10).batch);
    expect((await s.readState()).size).toBe(20);
    await s.close();
  });

  it('refuses the append in flight when its worker dies, and the next append starts another', async () => {
    const s = new SqliteStorage(fresh());
    const first = makeBatch({ size: 0, hashes: [] }, 2000);
    const inFlight = s.append(first.batch).catch((e: unknown) => e);
    const worker = (s as unknown as { writer: { worker: { terminate(): Promise<number> } } }).writer
      .worker;
    await worker.terminate();
    const outcome = await inFlight;
    // Either it committed before the worker ended, or it is refused: never a half batch.
    const size = (await s.readState()).size;
    if (outcome === undefined) expect(size).toBe(2000);
    else {
      expect(outcome).toMatchObject({ code: 'storage_unavailable' });
      expect([0, 2000]).toContain(size);
    }
    const base = size === 0 ? { size: 0, hashes: [] } : first.frontier;
    await s.append(makeBatch(base, 5).batch);
    expect((await s.readState()).size).toBe(size + 5);
    await s.close();
  });

  it('commits beside another connection writing the same file (as the registry and policy stores do)', async () => {
    const file = fresh();
    const s = new SqliteStorage(file);
    const other = new Database(file);
    other.pragma('busy_timeout = 5000');
    other.exec('CREATE TABLE IF NOT EXISTS side (n INTEGER)');
    const insert = other.prepare('INSERT INTO side (n) VALUES (?)');
    let stop = false;
    let writes = 0;
    // The other connection commits between every turn of the event loop while the worker appends.
    const writer = (async () => {
      while (!stop) {
        insert.run(writes++);
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    let frontier: { size: number; hashes: readonly Uint8Array[] } = { size: 0, hashes: [] };
    try {
      for (let round = 0; round < 30; round++) {
        const next = makeBatch(frontier, 200);
        await s.append(next.batch);
        frontier = next.frontier;
      }
    } finally {
      stop = true;
      await writer;
    }
    expect((await s.readState()).size).toBe(6000);
    expect(writes).toBeGreaterThan(30);
    other.close();
    await s.close();
  });

  it('an idle writer does not keep a process alive (a real process, the built package)', async () => {
    const file = fresh();
    const script = `
      import { SqliteStorage } from '@provenant/ledger/sqlite';
      import { makeBatch } from '@provenant/ledger/testing';
      const s = new SqliteStorage(${JSON.stringify(file)});
      await s.append(makeBatch({ size: 0, hashes: [] }, 3).batch);
      console.log((await s.readState()).size);
    `;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--input-type=module', '-e', script],
      { cwd: join(dirname(fileURLToPath(import.meta.url)), '..'), timeout: 20_000 },
    );
    expect(stdout.trim()).toBe('3');
  });
});
