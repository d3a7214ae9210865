// Benchmark 1: ingest throughput over HTTP keep-alive, durable acks, against the collector
// running as a child process; floor: bare better-sqlite3 inserting the same rows.
import { Buffer } from 'node:buffer';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LEDGER_FILE } from '@provenant/server/offline';
import { recordGenerator, entryOf } from './lib/records.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import { Database, entriesDdl } from './lib/sqlite.js';
import {
  msSince,
  now,
  procCpu,
  procStatus,
  removeDir,
  startCollector,
  tempDir,
} from './lib/util.js';

export const BATCH = 500;

export function sizes(quick) {
  return quick
    ? { records: 20_000, warmup: 2_000, connections: [2, 4, 8], rounds: 1 }
    : { records: 150_000, warmup: 10_000, connections: [2, 4, 8], rounds: 2 };
}

/** Floor: the same kind of rows into the same table and indexes, 10,000-row transactions. */
export function floor(count, say) {
  const gen = recordGenerator();
  const rows = [];
  for (let i = 0; i < count; i++) rows.push(entryOf(gen.next()));
  const dir = tempDir('floor');
  try {
    const db = new Database(join(dir, 'floor.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    for (const sql of entriesDdl()) db.exec(sql);
    const insert = db.prepare(
      `INSERT INTO entries (leaf_index, id, record, leaf_hash, type, time_us, initiator, actor, task_id, trace_id, level, action_name, resource, outcome)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const tx = db.transaction((from, to) => {
      for (let i = from; i < to; i++) {
        const e = rows[i];
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
          e.actionName,
          e.resource,
          e.outcome,
        );
      }
    });
    const start = now();
    for (let i = 0; i < count; i += 10_000) tx(i, Math.min(count, i + 10_000));
    const ms = msSince(start);
    db.close();
    const perSec = (count / ms) * 1000;
    say(`  floor: ${count} rows in ${(ms / 1000).toFixed(2)} s = ${Math.round(perSec)} rows/s`);
    return { rows: count, ms, perSec };
  } finally {
    removeDir(dir);
  }
}

function bodies(count, gen) {
  const out = [];
  for (let i = 0; i < count; i += BATCH) {
    const batch = [];
    for (let j = i; j < Math.min(count, i + BATCH); j++) batch.push(gen.next());
    out.push({ body: JSON.stringify(batch), n: batch.length });
  }
  return out;
}

async function post(agent, url, { body, n }) {
  const res = await send(agent, `${url}/v1/events`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
  });
  if (res.status !== 200)
    throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 300)}`);
  const answer = JSON.parse(res.body);
  if (answer.accepted.length !== n || answer.rejected.length !== 0) {
    throw new Error(`ingest accepted ${answer.accepted.length}/${n}: ${res.body.slice(0, 300)}`);
  }
}

/** One collector on an empty folder, loaded over `connections` keep-alive connections. */
export async function http(connections, { records, warmup }, say, { nodeArgs = [] } = {}) {
  const gen = recordGenerator();
  const warm = bodies(warmup, gen);
  const timed = bodies(records, gen);
  const bytes = timed.reduce((s, b) => s + b.body.length, 0);
  const dir = tempDir('ingest');
  // Records without a credential, as the floor's rows: kept `asserted` (a production serve
  // refuses them otherwise).
  const collector = await startCollector(dir, {
    nodeArgs,
    args: ['--anonymous-ingest', 'asserted'],
  });
  const agent = keepAliveAgent(connections);
  try {
    await runConcurrently(warm.length, connections, (i) => post(agent, collector.url, warm[i]));
    const cpu0 = procCpu(collector.pid);
    const self0 = process.cpuUsage();
    const start = now();
    await runConcurrently(timed.length, connections, (i) => post(agent, collector.url, timed[i]));
    const ms = msSince(start);
    const cpu1 = procCpu(collector.pid);
    const self = process.cpuUsage(self0);
    // The log size is in /healthz's detail, for the analyst or admin role (the admin token).
    const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
    const health = JSON.parse(
      (
        await send(agent, `${collector.url}/healthz`, {
          headers: { authorization: `Bearer ${token}` },
        })
      ).body,
    );
    // The collector may add records of its own (e.g. security alerts): never fewer than sent.
    const extraEntries = health.log.size - (warmup + records);
    if (extraEntries < 0) {
      throw new Error(`the log holds ${health.log.size} entries, expected ${warmup + records}`);
    }
    if (extraEntries > 0) say(`  note: the collector added ${extraEntries} records of its own`);
    const { hwmKb } = procStatus(collector.pid);
    agent.destroy();
    await collector.stop();
    // One signed checkpoint is stored per commit: their count gives the group-commit size.
    const db = new Database(join(dir, LEDGER_FILE), { readonly: true });
    const commits = db
      .prepare('SELECT count(*) FROM checkpoints WHERE size > ?')
      .pluck()
      .get(warmup);
    db.close();
    const perSec = (records / ms) * 1000;
    const us = (seconds) => (seconds / records) * 1e6;
    const result = {
      connections,
      records,
      ms,
      perSec,
      bodyBytes: bytes / timed.length,
      commits,
      entriesPerCommit: records / commits,
      collectorUserUs: us(cpu1.user - cpu0.user),
      collectorSystemUs: us(cpu1.system - cpu0.system),
      collectorCpuPerRecordUs: us(cpu1.user - cpu0.user + cpu1.system - cpu0.system),
      loaderCpuPerRecordUs: (self.user + self.system) / records,
      collectorHwmMb: hwmKb / 1024,
      extraEntries,
    };
    say(
      `  ${connections} connections: ${records} records in ${(ms / 1000).toFixed(2)} s = ${Math.round(perSec)} records/s; ` +
        `${commits} commits of ${Math.round(result.entriesPerCommit)} entries; collector CPU ` +
        `${result.collectorCpuPerRecordUs.toFixed(1)} µs/record (user ${result.collectorUserUs.toFixed(1)}, ` +
        `system ${result.collectorSystemUs.toFixed(1)}), load generator ${result.loaderCpuPerRecordUs.toFixed(1)} µs/record`,
    );
    return result;
  } finally {
    agent.destroy();
    await collector.stop();
    removeDir(dir);
  }
}

export async function run({ quick, say, nodeArgs }) {
  const size = sizes(quick);
  say(
    `ingest: ${size.records} records per setting in batches of ${BATCH}, after ${size.warmup} ` +
      `warm-up; ${size.rounds} round(s) of ${size.connections.join(', ')} connections`,
  );
  const floors = [];
  const runs = [];
  for (let round = 0; round < size.rounds; round++) {
    floors.push(floor(size.records, say));
    for (const c of size.connections) runs.push(await http(c, size, say, { nodeArgs }));
  }
  const fastest = (xs) => xs.reduce((a, b) => (b.perSec > a.perSec ? b : a));
  // The best run of each connection setting, then the best setting.
  const settings = size.connections.map((c) => fastest(runs.filter((r) => r.connections === c)));
  const best = fastest(settings);
  const floorResult = fastest(floors);
  return {
    floor: floorResult,
    floors,
    runs,
    settings,
    best,
    warmup: size.warmup,
    ratio: best.perSec / floorResult.perSec,
  };
}
