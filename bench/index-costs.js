#!/usr/bin/env node
// Issue 18, item 2: what each secondary index of the SQLite entries table costs per inserted row,
// and which of the driver's queries use it (EXPLAIN QUERY PLAN of every filter the storage port
// takes), so an index no query needs can be named and dropped.
//
//   node bench/index-costs.js [--rows N] [--rounds N]
//
// Costs: N generated entries (the collector's own `prepareRecord`) inserted bare (better-sqlite3,
// WAL, synchronous = FULL, 1,000 rows a transaction) into the ledger's entries table with every
// index, then with each index left out in turn; CPU time (user + system) of this process per row,
// the figure least disturbed by a shared machine; best of the rounds.
// Plans: a ledger of the same entries opened with the SQLite driver, `queryPlan(filter)` for each
// filter; the indexes each plan names.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { generateSignerKey, Log, parseSignerKey } from '@provenant/ledger';
import { entryOf, recordGenerator } from './lib/records.js';
import { removeDir, tempDir } from './lib/util.js';

const { values } = parseArgs({
  options: { rows: { type: 'string', default: '50000' }, rounds: { type: 'string', default: '2' } },
});
const ROWS = Number(values.rows);
const ROUNDS = Number(values.rounds);

const gen = recordGenerator();
const entries = Array.from({ length: ROWS }, () => entryOf(gen.next()));

// The ledger's DDL as a fresh file has it.
const dir = tempDir('index-costs');
try {
  const signer = parseSignerKey(generateSignerKey('bench.test/index-costs').signerKey);
  const file = join(dir, 'ledger.db');
  const storage = new SqliteStorage(file);
  const log = await Log.open({ storage, signer });
  for (let i = 0; i < entries.length; i += 5000) await log.append(entries.slice(i, i + 5000));
  const plans = await planUse(storage);
  await log.close();
  await storage.close();
  const db = new Database(file, { readonly: true });
  const table = db.prepare("SELECT sql FROM sqlite_master WHERE name = 'entries'").get().sql;
  const indexes = db
    .prepare(
      "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL",
    )
    .all();
  db.close();

  const cost = (without) => {
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) {
      best = Math.min(
        best,
        insertCost(
          table,
          indexes.filter((i) => i.name !== without).map((i) => i.sql),
        ),
      );
    }
    return best;
  };
  const none = (() => {
    let best = Infinity;
    for (let r = 0; r < ROUNDS; r++) best = Math.min(best, insertCost(table, []));
    return best;
  })();
  const all = cost(null);
  console.log(`\n${ROWS} rows, best of ${ROUNDS}; CPU µs per inserted row`);
  console.log(`| index | cost per row (all − without it) | queries whose plan uses it |`);
  console.log(`| --- | --- | --- |`);
  console.log(`| (table alone, no secondary index) | ${none.toFixed(1)} µs | |`);
  console.log(`| (all ${indexes.length} indexes) | ${all.toFixed(1)} µs | |`);
  for (const i of indexes) {
    const used = [...plans].filter(([, names]) => names.has(i.name)).map(([q]) => q);
    console.log(
      `| ${i.name} | ${(all - cost(i.name)).toFixed(1)} µs | ${used.join(', ') || '**none**'} |`,
    );
  }
} finally {
  removeDir(dir);
}

function insertCost(table, indexes) {
  const d = tempDir('index-cost');
  try {
    const db = new Database(join(d, 'cost.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec(table);
    for (const sql of indexes) db.exec(sql);
    const insert = db.prepare(
      `INSERT INTO entries (leaf_index, id, record, leaf_hash, type, time_us, initiator, actor, task_id, trace_id, level, cov_flags, cov_lifetime, cov_instance, action_name, resource, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const tx = db.transaction((from, to) => {
      for (let i = from; i < to; i++) {
        const e = entries[i];
        insert.run(
          i,
          e.id,
          e.canonical,
          e.leafHash,
          e.type,
          e.timeUs,
          e.initiator,
          e.actor,
          e.taskId,
          e.traceId,
          e.level,
          e.coverage?.flags ?? null,
          e.coverage?.lifetimeSec ?? null,
          e.coverage?.instance ?? null,
          e.actionName,
          e.resource,
          e.outcome,
        );
      }
    });
    const cpu = process.cpuUsage();
    for (let from = 0; from < entries.length; from += 1000) tx(from, from + 1000);
    const used = process.cpuUsage(cpu);
    db.close();
    return (used.user + used.system) / entries.length;
  } finally {
    removeDir(d);
  }
}

/** Which indexes the plan of each filter the storage port takes names. */
async function planUse(storage) {
  const e = entries[123];
  const filters = {
    initiator: { initiator: e.initiator },
    actor: { actor: e.actor },
    type: { type: 'tool.result' },
    task: { taskId: e.taskId },
    trace: { traceId: e.traceId },
    level: { level: 'verified' },
    'time range': { fromUs: e.timeUs, toUs: e.timeUs + 1_000_000 },
    action: { action: e.actionName },
    'action glob': { action: 'github.*' },
    resource: { resource: 'repo:acme/' },
    outcome: { outcome: 'error' },
    'search box': { anyOf: { id: e.id, traceId: e.traceId, actor: e.actor } },
    'provenance (actor, verified, type)': {
      actor: e.actor,
      level: 'verified',
      type: 'tool.called',
    },
    'coverage (flags)': { coverage: { flagsAll: 1 } },
    'coverage (lifetime)': { coverage: { hasLifetime: true } },
  };
  const out = new Map();
  for (const [name, f] of Object.entries(filters)) {
    for (const order of ['asc', 'desc']) {
      const lines = await storage.queryPlan({ ...f, order, limit: 50 });
      const names = new Set(
        lines.flatMap((l) => [...l.matchAll(/INDEX (entries_[a-z_]+)/g)].map((m) => m[1])),
      );
      const key = `${name}`;
      const seen = out.get(key) ?? new Set();
      for (const n of names) seen.add(n);
      out.set(key, seen);
    }
  }
  // Point reads and the coverage report name these in their own SQL (not through queryEntries).
  const add = (index, use) => out.set(use, new Set([...(out.get(use) ?? []), index]));
  add('entries_id', 'id lookups (duplicates, GET /v1/events/{id})');
  add('entries_time', 'coverage report (INDEXED BY)');
  add('entries_cov_lifetime', 'coverage report (INDEXED BY)');
  add('entries_cov_missing', 'coverage facts fill at start (INDEXED BY)');
  return out;
}
