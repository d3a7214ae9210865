import type pg from 'pg';
import { migrateToInnerTiles, migrateToTiles } from './tiles.js';

/** One migration: SQL, or a step that needs code (it runs in the migrations' transaction). */
export type Migration = string | ((client: pg.ClientBase) => Promise<void>);

/**
 * Versioned migrations, applied in order at start inside one transaction under an advisory lock
 * (so several collectors starting at once migrate once). Index i brings the schema to i + 1.
 *
 * Secondary indexes end in leaf_index (SQLite's end in the implicit rowid), so "filter, then
 * page by leaf index" is one index range scan; partial indexes skip the NULLs most records have.
 */
export const MIGRATIONS: readonly Migration[] = [
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
  // Coverage facts (../coverage.ts): computed at ingest; rows from before are NULL until the
  // collector fills them (fillCoverageFacts, with core's rule: storage never computes them).
  `
ALTER TABLE ledger_entries ADD COLUMN cov_flags INTEGER, ADD COLUMN cov_lifetime DOUBLE PRECISION,
  ADD COLUMN cov_instance TEXT;
CREATE INDEX ledger_entries_cov_missing ON ledger_entries (time_us) WHERE cov_flags IS NULL;
CREATE INDEX ledger_entries_cov_lifetime ON ledger_entries (cov_lifetime) WHERE cov_lifetime IS NOT NULL;
`,
  // Coverage facts of entries with a credential lifetime, computed by the older rule (every
  // `credential.issued` counted, a producer's forged ones too; now only the issuer's own):
  // forgotten, so the collector fills them again with core's current rule at start.
  `
UPDATE ledger_entries SET cov_flags = NULL, cov_lifetime = NULL, cov_instance = NULL
 WHERE cov_lifetime IS NOT NULL;
`,
  // The search columns (../search.ts), filled from each stored record (the fields the collector
  // extracts at ingest). "C" collation: a resource prefix is a byte range, whatever the
  // database's locale. Each index ends in leaf_index, so an equality on its columns is read in
  // leaf order; only non-success outcomes are indexed (most records succeed).
  `
ALTER TABLE ledger_entries ADD COLUMN action_name TEXT COLLATE "C", ADD COLUMN resource TEXT COLLATE "C",
  ADD COLUMN outcome TEXT COLLATE "C";
UPDATE ledger_entries SET action_name = record::jsonb #>> '{action,name}',
  resource = CASE WHEN record::jsonb #>> '{action,name}' IS NULL THEN NULL
    ELSE record::jsonb #>> '{action,resource}' END,
  outcome = record::jsonb #>> '{outcome,status}'
  WHERE record LIKE '{%';
CREATE INDEX ledger_entries_action ON ledger_entries (action_name, leaf_index) WHERE action_name IS NOT NULL;
CREATE INDEX ledger_entries_resource ON ledger_entries (resource, action_name, leaf_index) WHERE resource IS NOT NULL;
CREATE INDEX ledger_entries_outcome ON ledger_entries (outcome, leaf_index) WHERE outcome <> 'success';
`,
  // The queue keeps an entry's index columns as the log does (was: their JSON in \`fields\`), so
  // the sequencer's append copies a queued row into ledger_entries inside the database: the
  // bytes never travel to the sequencer and back (issue 18). Rows queued before are converted.
  `
ALTER TABLE ledger_pending ADD COLUMN type TEXT, ADD COLUMN time_us BIGINT,
  ADD COLUMN initiator TEXT, ADD COLUMN actor TEXT, ADD COLUMN task_id TEXT,
  ADD COLUMN trace_id TEXT, ADD COLUMN level TEXT, ADD COLUMN cov_flags INTEGER,
  ADD COLUMN cov_lifetime DOUBLE PRECISION, ADD COLUMN cov_instance TEXT,
  ADD COLUMN action_name TEXT COLLATE "C", ADD COLUMN resource TEXT COLLATE "C",
  ADD COLUMN outcome TEXT COLLATE "C";
UPDATE ledger_pending SET type = f->>'type', time_us = (f->>'timeUs')::bigint,
  initiator = f->>'initiator', actor = f->>'actor', task_id = f->>'taskId',
  trace_id = f->>'traceId', level = f->>'level',
  cov_flags = (f #>> '{coverage,flags}')::integer,
  cov_lifetime = (f #>> '{coverage,lifetimeSec}')::double precision,
  cov_instance = f #>> '{coverage,instance}', action_name = f->>'actionName',
  resource = CASE WHEN f->>'actionName' IS NULL THEN NULL ELSE f->>'resource' END,
  outcome = f->>'outcome'
  FROM (SELECT seq AS s, fields::jsonb AS f FROM ledger_pending) AS parsed
  WHERE seq = parsed.s;
ALTER TABLE ledger_pending DROP COLUMN fields, ALTER COLUMN type SET NOT NULL,
  ALTER COLUMN time_us SET NOT NULL, ALTER COLUMN level SET NOT NULL;
`,
  // The Merkle tree as C2SP tlog-tiles hash tiles (ledger_tiles, one row a tile) instead of a row
  // per subtree hash (ledger_nodes, dropped): rebuilt from the leaf hashes and checked against
  // the latest checkpoint's root before the transaction commits (./tiles.ts).
  migrateToTiles,
  // The inner tiles beside each hash tile (ledger_tiles rows at level 64 + L), which proofs
  // read instead of hashing up to 127 hashes of the tile below (./tiles.ts).
  migrateToInnerTiles,
];

/** The first version with hash tiles (an older database opened read-only reads ledger_nodes). */
export const TILES_VERSION = 7;

/** The newest schema this code knows; a database at a newer version is refused. */
export const POSTGRES_SCHEMA_VERSION = MIGRATIONS.length;

/** Advisory lock keys (one 64-bit namespace per database). */
export const LOCK_MIGRATE = 0x70726f76_0001n; // 'prov' + 1
export const LOCK_APPEND = 0x70726f76_0002n;
/** The advisory lock key of the sequencer lease (one per database). */
export const LOCK_SEQUENCER = 0x70726f76_0003n;

export const ENTRY_COLUMNS =
  'leaf_index, id, record, leaf_hash, type, time_us, initiator, actor, task_id, trace_id, level';
/** The index columns an entry has in the log and in the queue alike, in this order. */
export const FACET_COLUMNS =
  'type, time_us, initiator, actor, task_id, trace_id, level, cov_flags, cov_lifetime, cov_instance, action_name, resource, outcome';
/** What reads select: the entry columns and the search columns. */
export const READ_COLUMNS = `${ENTRY_COLUMNS}, action_name, resource, outcome`;
