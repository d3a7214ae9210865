import type Database from 'better-sqlite3';
import { equalBytes } from '@provenant/core/vocabulary';
import { EMPTY_FRONTIER, rootOfFrontier } from '../../merkle/append.js';
import type { Frontier } from '../../merkle/append.js';
import { INNER_TILES, innerOfTile, integrate } from '../../tiles/layout.js';
import { APPEND_SQL } from './append.js';

// 2: the coverage facts columns (cov_flags, cov_lifetime, cov_instance); a version-1 file is
// migrated when opened for writing (columns added, NULL until the collector fills them).
// 3: the facts of entries with a credential lifetime are recomputed: before it, every
// `credential.issued` record had its lifetime counted, a producer's forged ones too; since, only
// the issuer's own grants (core's `coverageFacts`). The migration forgets those facts (NULL), and
// the collector fills them again with the current rule at start, as for a version-1 file.
// 4: the search columns (action_name, resource, outcome), filled from the stored records, and
// their indexes (migrateToSearch).
// 5: the Merkle tree as C2SP tlog-tiles hash tiles (table tiles, one row a tile) instead of a row
// per subtree hash (table nodes, dropped): rebuilt from the stored leaf hashes, its root checked
// against the latest checkpoint before the migration commits (migrateToTiles).
// 6: the inner tiles beside each hash tile (rows of table tiles at level 64 + L: tree levels
// 8L + 4 … 8L + 7, ../../tiles/layout.ts INNER_TILES), computed from the stored tiles
// (migrateToInnerTiles), so a proof hashes 11 hashes of its level-0 tile instead of 247.
export const SCHEMA_VERSION = '6';

/**
 * Each connection's SQLite page cache, in KiB (PRAGMA cache_size = -N). better-sqlite3 builds
 * SQLite with 16 MiB a connection, and a collector has three (this one, the read worker's, the
 * writer's) that fill as the ledger outgrows them: 48 MiB of resident memory at 1,000,000
 * records that an empty ledger never uses. Pages beyond these come from the OS page cache.
 * The writer keeps most: the rightmost pages of each index an append extends; point reads
 * (proofs, records by id) need the B-trees' upper levels; large reads stream.
 */
export const PAGE_CACHE_KIB = { main: 2048, reader: 4096, writer: 8192 } as const;

/** The versions a file opened read-only may have (older ones are not migrated then). */
export const READABLE_VERSIONS: readonly string[] = ['1', '2', '3', '4', '5', SCHEMA_VERSION];

/** The first version with hash tiles (an older file opened read-only reads table nodes). */
export const TILES_VERSION = '5';

/** The first version whose coverage facts follow core's current rule. */
export const COVERAGE_RULE_VERSION = '3';

/** The first version with the search columns (older files opened read-only cannot search). */
export const SEARCH_VERSION = '4';

// Secondary indexes end in the implicit rowid (= leaf_index), so "filter, then page by leaf
// index" is one index range scan. Partial indexes skip the NULLs that most records have.
export const DDL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entries (
  leaf_index INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  record TEXT NOT NULL,
  leaf_hash BLOB NOT NULL,
  type TEXT NOT NULL,
  time_us INTEGER NOT NULL,
  initiator TEXT,
  actor TEXT,
  task_id TEXT,
  trace_id TEXT,
  level TEXT NOT NULL,
  cov_flags INTEGER,
  cov_lifetime INTEGER,
  cov_instance TEXT,
  action_name TEXT,
  resource TEXT,
  outcome TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS entries_id ON entries(id);
CREATE INDEX IF NOT EXISTS entries_initiator ON entries(initiator) WHERE initiator IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_actor ON entries(actor) WHERE actor IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_type ON entries(type);
CREATE INDEX IF NOT EXISTS entries_task ON entries(task_id) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_trace ON entries(trace_id) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_level ON entries(level);
CREATE TABLE IF NOT EXISTS tiles (
  level INTEGER NOT NULL,
  idx INTEGER NOT NULL,
  hashes BLOB NOT NULL,
  PRIMARY KEY (level, idx)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
  size INTEGER PRIMARY KEY,
  root_hash BLOB NOT NULL,
  note TEXT NOT NULL
);
`;

// Schema 2. Partial indexes: entries appended without coverage facts (normally none), and the
// credential records whose lifetime the coverage report measures.
export const COVERAGE_DDL = `
-- entries_time (time_us, cov_flags, level): the time index, also a covering index for the
-- coverage report's counts and lists, much smaller than the table (schema 1 had (time_us)).
CREATE INDEX IF NOT EXISTS entries_time ON entries(time_us, cov_flags, level);
CREATE INDEX IF NOT EXISTS entries_cov_missing ON entries(time_us) WHERE cov_flags IS NULL;
CREATE INDEX IF NOT EXISTS entries_cov_lifetime ON entries(cov_lifetime) WHERE cov_lifetime IS NOT NULL;
`;

/**
 * Brings a file opened for writing from `version` to SCHEMA_VERSION, one transaction per step;
 * returns the version it is at (unchanged when it is not one this code migrates).
 */
export function migrate(db: Database.Database, version: string | undefined): string | undefined {
  if (version === '1') version = migrateToCoverage(db);
  if (version === '2') version = forgetGrantFacts(db);
  if (version === '3') version = migrateToSearch(db);
  if (version === '4') version = migrateToTiles(db);
  if (version === '5') version = migrateToInnerTiles(db);
  return version;
}

/** Hash tiles read per step while the inner tiles are computed. */
const INNER_CHUNK = 1024;

/**
 * Schema 5 → 6 in one transaction: the inner tile of every stored hash tile computed from its
 * hashes (`innerOfTile`: the nodes `integrate` writes there as a tile grows) and inserted. It
 * reads every tile once and hashes about once per entry (10,000,000 entries: 39,000 tiles).
 */
function migrateToInnerTiles(db: Database.Database): string {
  db.transaction(() => {
    db.prepare('DELETE FROM tiles WHERE level >= ?').run(INNER_TILES);
    const read = db.prepare<[number, number, number, number], { l: number; i: number; h: Buffer }>(
      `SELECT level AS l, idx AS i, hashes AS h FROM tiles
        WHERE level < ? AND (level > ? OR (level = ? AND idx > ?)) ORDER BY level, idx LIMIT ${INNER_CHUNK}`,
    );
    const insert = db.prepare(APPEND_SQL.insertTile);
    let after = { l: 0, i: -1 };
    for (;;) {
      const rows = read.all(INNER_TILES, after.l, after.l, after.i);
      if (rows.length === 0) break;
      for (const r of rows) {
        const inner = innerOfTile(r.h);
        if (inner.length > 0) insert.run(INNER_TILES + r.l, r.i, inner);
      }
      const last = rows.at(-1)!;
      after = { l: last.l, i: last.i };
    }
    db.prepare(`UPDATE meta SET value = '6' WHERE key = 'schema_version'`).run();
  })();
  return '6';
}

/** Leaf hashes read per step while the tiles are rebuilt. */
const REBUILD_CHUNK = 65_536;

/**
 * Schema 4 → 5 in one transaction: the hash tiles rebuilt from the entries' leaf hashes (the
 * same `integrate` as the sequencer's), the root of the rebuilt tree compared with the latest
 * checkpoint's, and only then table nodes dropped and the version set. A ledger whose leaves
 * have a gap, or whose rebuilt root is not the signed one, is not migrated (the error says why;
 * nothing changes). It reads every leaf hash once and hashes once per leaf.
 */
function migrateToTiles(db: Database.Database): string {
  db.transaction(() => {
    db.exec('DELETE FROM tiles');
    const insert = db.prepare(APPEND_SQL.insertTile);
    const extend = db.prepare(APPEND_SQL.extendTile);
    const read = db.prepare<[number, number], { i: number; h: Buffer }>(
      'SELECT leaf_index AS i, leaf_hash AS h FROM entries WHERE leaf_index >= ? AND leaf_index < ? ORDER BY leaf_index',
    );
    const latest = db
      .prepare<[], { size: number; root_hash: Buffer }>(
        'SELECT size, root_hash FROM checkpoints ORDER BY size DESC LIMIT 1',
      )
      .get();
    const end =
      ((db.prepare('SELECT max(leaf_index) AS n FROM entries').get() as { n: number | null }).n ??
        -1) + 1;
    let frontier: Frontier = EMPTY_FRONTIER;
    for (let start = 0; start < end; start += REBUILD_CHUNK) {
      const rows = read.all(start, Math.min(end, start + REBUILD_CHUNK));
      const hashes = rows.map((r, k) => {
        if (r.i !== start + k) throw new Error(`leaf ${start + k} is missing from table entries`);
        return r.h;
      });
      if (hashes.length < Math.min(REBUILD_CHUNK, end - start)) {
        throw new Error(`leaf ${start + hashes.length} is missing from table entries`);
      }
      const next = integrate(frontier, hashes);
      for (const t of next.tiles) {
        const done =
          t.from === 0
            ? insert.run(t.level, t.index, t.hashes).changes
            : extend.run(t.hashes, t.level, t.index, 32 * t.from).changes;
        if (done !== 1) throw new Error(`tile ${t.level}/${t.index} could not be written`);
      }
      frontier = next.frontier;
    }
    if (latest === undefined ? end !== 0 : latest.size !== end) {
      throw new Error(
        `the ledger holds ${end} entries but its latest checkpoint is of size ${latest?.size ?? 'none'}`,
      );
    }
    if (latest !== undefined && !equalBytes(rootOfFrontier(frontier), latest.root_hash)) {
      throw new Error(
        `the tree rebuilt from the ${end} stored leaf hashes does not have the root of the latest checkpoint (size ${latest.size})`,
      );
    }
    db.exec('DROP TABLE IF EXISTS nodes');
    db.prepare(`UPDATE meta SET value = '5' WHERE key = 'schema_version'`).run();
  })();
  return '5';
}

// Schema 4: the search columns' indexes (../search.ts reads them). Each ends in the rowid, so an
// equality on its columns is read in leaf order either way. (resource, action_name) answers a
// resource prefix and "this action on this resource" alike; only non-success outcomes are
// indexed (most records succeed, and a success is found by reading in leaf order anyway).
export const SEARCH_DDL = `
CREATE INDEX IF NOT EXISTS entries_action ON entries(action_name) WHERE action_name IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_resource ON entries(resource, action_name) WHERE resource IS NOT NULL;
CREATE INDEX IF NOT EXISTS entries_outcome ON entries(outcome) WHERE outcome <> 'success';
`;

/**
 * Schema 3 → 4 in one transaction: the search columns added and filled from each stored record
 * (the fields the collector extracts at ingest: action.name, action.resource when there is a
 * name, outcome.status), then indexed. It reads and rewrites every row once.
 */
function migrateToSearch(db: Database.Database): string {
  db.transaction(() => {
    const columns = new Set(
      (db.prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name),
    );
    for (const name of ['action_name', 'resource', 'outcome']) {
      if (!columns.has(name)) db.exec(`ALTER TABLE entries ADD COLUMN ${name} TEXT`);
    }
    db.exec(`UPDATE entries SET
      action_name = json_extract(record, '$.action.name'),
      resource = CASE WHEN json_extract(record, '$.action.name') IS NULL THEN NULL
        ELSE json_extract(record, '$.action.resource') END,
      outcome = json_extract(record, '$.outcome.status')
      WHERE json_valid(record)`);
    db.exec(SEARCH_DDL);
    db.prepare(`UPDATE meta SET value = '4' WHERE key = 'schema_version'`).run();
  })();
  return '4';
}

/** Schema 2 → 3: the facts of entries with a lifetime, computed by the older rule, forgotten. */
function forgetGrantFacts(db: Database.Database): string {
  db.transaction(() => {
    db.exec(
      'UPDATE entries SET cov_flags = NULL, cov_lifetime = NULL, cov_instance = NULL WHERE cov_lifetime IS NOT NULL',
    );
    db.prepare(`UPDATE meta SET value = '3' WHERE key = 'schema_version'`).run();
  })();
  return '3';
}

/** Schema 1 → 2 in one transaction: coverage columns added (`fillCoverageFacts` fills them). */
function migrateToCoverage(db: Database.Database): string {
  db.transaction(() => {
    const columns = new Set(
      (db.prepare('PRAGMA table_info(entries)').all() as { name: string }[]).map((c) => c.name),
    );
    for (const [name, type] of [
      ['cov_flags', 'INTEGER'],
      ['cov_lifetime', 'INTEGER'],
      ['cov_instance', 'TEXT'],
    ] as const) {
      if (!columns.has(name)) db.exec(`ALTER TABLE entries ADD COLUMN ${name} ${type}`);
    }
    db.exec(
      'DROP INDEX IF EXISTS entries_time; CREATE INDEX entries_time ON entries(time_us, cov_flags, level)',
    );
    db.prepare(`UPDATE meta SET value = '2' WHERE key = 'schema_version'`).run();
  })();
  return '2';
}
