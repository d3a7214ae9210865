#!/usr/bin/env node
// Growth (issue 18, item 4): the same figures on a 1,000,000- and a 10,000,000-record SQLite
// ledger, to show what stays flat as the ledger grows:
//   - inclusion / consistency proof latency (the Log methods in-process, bench/proofs.js),
//   - offline verify rate (`provenant verify --data`, beside the bare read + SHA-256 floor),
//   - coverage report and events search latency, over HTTP on a collector child process,
//   - that collector's peak RSS (VmHWM) beside one on an empty folder under the same requests,
//   - bytes on disk per record against the mean canonical record size (with each table and
//     index's share, from SQLite's dbstat).
//
//   node bench/growth.js [--sizes 1000000,10000000] [--cache DIR] [--quick] [--no-write] [--drop]
//
// The ledgers are built once and kept in a cache folder (default $PROVENANT_BENCH_CACHE or
// <tmp>/provenant-bench-cache/growth, one folder per size); a later run reuses them. They are
// built fast by writing straight through the storage layer: records made by the collector's
// own `prepareRecord` (bench/lib/records.js), integrated into the hash tiles and signed in
// 10,000-record batches (`integrate`, a checkpoint per batch), each batch committed by
// SqliteStorage.append while the next is prepared; no HTTP, no per-id duplicate read. The
// collector's HTTP load appends 5,000 records to a cached ledger each run (its size is printed).
// --drop removes the cache folder at the end (the 10M ledger takes about 20 GB).
import {
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  statfsSync,
  writeFileSync,
} from 'node:fs';
import { cp } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { uuidv7 } from '@provenant/core';
import {
  formatCheckpoint,
  hashLeaf,
  integrate,
  loadOrCreateSignerKey,
  rootOfFrontier,
  signNote,
} from '@provenant/ledger';
import { SqliteStorage } from '@provenant/ledger/sqlite';
import { LEDGER_FILE } from '@provenant/server/offline';
import * as proofs from './proofs.js';
import * as verify from './verify.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import { entryOf, recordGenerator } from './lib/records.js';
import { Database } from './lib/sqlite.js';
import {
  fmtInt,
  machine,
  msSince,
  now,
  procStatus,
  randInt,
  removeDir,
  startCollector,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';

const { values } = parseArgs({
  options: {
    sizes: { type: 'string' },
    cache: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    drop: { type: 'boolean', default: false },
    'build-only': { type: 'boolean', default: false },
    'no-dbstat': { type: 'boolean', default: false },
    'no-verify': { type: 'boolean', default: false },
  },
  strict: true,
});
const quick = values.quick;
const SIZES = (values.sizes ?? (quick ? '50000,200000' : '1000000,10000000'))
  .split(',')
  .map((s) => Number(s.trim()))
  .sort((a, b) => a - b);
if (SIZES.some((n) => !Number.isSafeInteger(n) || n < 1000)) {
  console.error('--sizes: whole numbers of records, at least 1000 each');
  process.exit(2);
}
const CACHE =
  values.cache ??
  process.env.PROVENANT_BENCH_CACHE ??
  join(tmpdir(), 'provenant-bench-cache', quick ? 'growth-quick' : 'growth');
const BATCH = 10_000;
const TEMPLATES = 10_000;
const HTTP = { records: quick ? 1_000 : 5_000, proofs: quick ? 1_000 : 10_000, connections: 4 };
const SEARCH_SAMPLES = quick ? 10 : 50;
const COVERAGE_SAMPLES = quick ? 2 : 5;
/** Rows sampled (evenly spread) for the mean canonical record size. */
const SIZE_SAMPLE = 100_000;

const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(5)} s] ${line}`);
const dirOf = (size) => join(CACHE, `ledger-${size}`);
const markerOf = (size) => join(dirOf(size), 'growth.json');

function cached(size) {
  try {
    return JSON.parse(readFileSync(markerOf(size), 'utf8'));
  } catch {
    return null;
  }
}

function freeGiB(dir) {
  const s = statfsSync(dir);
  return (s.bavail * s.bsize) / 2 ** 30;
}

/**
 * Builds the ledgers of SIZES not cached yet, in one pass up to the largest missing one: at
 * each smaller size on the way the folder is copied (WAL checkpointed first) and the build goes
 * on. Records and leaf hashes come from the collector's own preparation; the tree from
 * `integrate`, a signed checkpoint per batch, committed through SqliteStorage.append.
 */
async function buildMissing() {
  const missing = SIZES.filter((s) => cached(s) === null);
  if (missing.length === 0) return null;
  const target = missing.at(-1);
  const dir = join(CACHE, 'building');
  removeDir(dir);
  mkdirSync(dir, { recursive: true });
  const signer = loadOrCreateSignerKey(dir, 'bench.provenant.local/ledger');
  const file = join(dir, LEDGER_FILE);
  let storage = new SqliteStorage(file);
  const next = fastEntries();
  let frontier = { size: 0, hashes: [] };
  let prepareMs = 0;
  let commitWaitMs = 0;
  const start = now();
  let pending = Promise.resolve();
  const stops = [...new Set(missing)];
  try {
    while (frontier.size < target) {
      let t = now();
      const n = Math.min(BATCH, target - frontier.size, stops[0] - frontier.size);
      const entries = new Array(n);
      for (let k = 0; k < n; k++) {
        entries[k] = next(frontier.size + k);
      }
      const grown = integrate(
        frontier,
        entries.map((e) => e.leafHash),
      );
      const rootHash = rootOfFrontier(grown.frontier);
      const note = signedCheckpoint(signer, grown.frontier.size, rootHash);
      prepareMs += msSince(t);
      t = now();
      await pending; // one commit in flight at a time, in order
      commitWaitMs += msSince(t);
      const batch = {
        fromSize: frontier.size,
        entries,
        tiles: grown.tiles,
        checkpoint: { size: grown.frontier.size, rootHash, note },
      };
      pending = storage.append(batch);
      frontier = grown.frontier;
      if (frontier.size % 500_000 === 0 || frontier.size === target) {
        const s = msSince(start) / 1000;
        say(`  built ${fmtInt(frontier.size)} (${s.toFixed(0)} s, ${fmtInt(frontier.size / s)}/s)`);
      }
      if (frontier.size === stops[0]) {
        await pending;
        await storage.close();
        checkpointWal(file);
        const size = stops.shift();
        const info = {
          size,
          builtMs: msSince(start),
          prepareMs,
          commitWaitMs,
          date: new Date().toISOString(),
        };
        writeFileSync(join(dir, 'growth.json'), JSON.stringify(info));
        removeDir(dirOf(size));
        // The largest is moved into place; a smaller one on the way is copied.
        if (stops.length === 0) renameSync(dir, dirOf(size));
        else await cp(dir, dirOf(size), { recursive: true });
        if (stops.length > 0) storage = new SqliteStorage(file);
        say(`  ${fmtInt(size)}-record ledger kept in ${dirOf(size)}`);
      }
    }
    await pending;
  } finally {
    await storage.close().catch(() => {});
    removeDir(dir);
  }
  return { target, ms: msSince(start), prepareMs, commitWaitMs };
}

/**
 * Entries as the collector stores them, cheaply: TEMPLATES records prepared by the collector's
 * own `prepareRecord`, then each new entry one of them (in turn) with a fresh UUIDv7 id and a
 * later time substituted in its canonical bytes (same lengths), and its leaf hash computed
 * again. Actors, resources, actions, tasks and traces cycle over the templates' (a trace or a
 * task id is shared by about size / TEMPLATES × 10 records).
 */
function fastEntries() {
  const gen = recordGenerator();
  const templates = Array.from({ length: TEMPLATES }, () => {
    const r = gen.next();
    const entry = entryOf(r);
    if (!entry.canonical.includes(`"${r.id}"`) || !entry.canonical.includes(`"${r.time}"`)) {
      throw new Error('a template record does not carry its id and time as given');
    }
    return { entry, id: `"${r.id}"`, time: `"${r.time}"` };
  });
  const baseUs = Date.UTC(2026, 10, 27, 13, 5, 1) * 1000;
  return (leafIndex) => {
    const t = templates[leafIndex % TEMPLATES];
    const id = uuidv7();
    const timeUs = baseUs + leafIndex * 150;
    const canonical = t.entry.canonical
      .replace(t.id, `"${id}"`)
      .replace(t.time, `"${isoMicros(timeUs)}"`);
    return {
      ...t.entry,
      id,
      timeUs,
      canonical,
      leafHash: hashLeaf(Buffer.from(canonical, 'utf8')),
      leafIndex,
    };
  };
}

function isoMicros(us) {
  const iso = new Date(Math.floor(us / 1000)).toISOString();
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

function signedCheckpoint(signer, size, rootHash) {
  return signNote(formatCheckpoint({ origin: signer.name, size, rootHash, extensions: [] }), [
    signer,
  ]);
}

function checkpointWal(file) {
  const db = new Database(file);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** File size, per-table and per-index bytes (dbstat), mean canonical record size. */
function diskUse(dir) {
  const file = join(dir, LEDGER_FILE);
  checkpointWal(file);
  const bytes =
    statSync(file).size + (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
  const db = new Database(file, { readonly: true });
  try {
    const records = db.prepare('SELECT max(leaf_index) + 1 FROM entries').pluck().get();
    const step = Math.max(1, Math.floor(records / SIZE_SAMPLE));
    const sample = db
      .prepare(
        'SELECT count(*) AS n, sum(length(CAST(record AS BLOB))) AS b FROM entries WHERE leaf_index % ? = 0',
      )
      .get(step);
    const canonical = sample.b / sample.n;
    const t = now();
    const parts = db
      .prepare('SELECT name, sum(pgsize) AS bytes FROM dbstat GROUP BY name ORDER BY bytes DESC')
      .all();
    const dbstatMs = msSince(t);
    return { records, bytes, canonical, perRecord: bytes / records, parts, dbstatMs };
  } finally {
    db.close();
  }
}

/** A collector child process on `dir` under HTTP load: ingest, proofs, searches, coverage. */
async function httpLoad(dir, label) {
  const t = now();
  const collector = await startCollector(dir, { args: ['--anonymous-ingest', 'asserted'] });
  const startMs = msSince(t);
  const afterStart = procStatus(collector.pid);
  const agent = keepAliveAgent(HTTP.connections);
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const headers = { authorization: `Bearer ${token}` };
  const get = async (path) => {
    const res = await send(agent, `${collector.url}${path}`, { headers });
    if (res.status !== 200)
      throw new Error(`${label}: ${path} answered ${res.status}: ${res.body}`);
    return res.body;
  };
  try {
    const gen = recordGenerator();
    const accepted = [];
    const bodies = [];
    for (let i = 0; i < HTTP.records; i += 500) {
      const n = Math.min(500, HTTP.records - i);
      bodies.push(JSON.stringify(Array.from({ length: n }, () => gen.next())));
    }
    await runConcurrently(bodies.length, HTTP.connections, async (i) => {
      const res = await send(agent, `${collector.url}/v1/events`, {
        method: 'POST',
        body: bodies[i],
        headers: { 'content-type': 'application/json' },
      });
      if (res.status !== 200) throw new Error(`${label}: ingest answered ${res.status}`);
      for (const a of JSON.parse(res.body).accepted) accepted.push(a.id);
    });
    const health = JSON.parse(await get('/healthz'));
    const size = health.log?.size ?? null;
    // Proofs of records spread over the whole ledger (ids read from the file, read-only).
    const db = new Database(join(dir, LEDGER_FILE), { readonly: true });
    const idOf = db.prepare('SELECT id FROM entries WHERE leaf_index = ?').pluck();
    const top = db.prepare('SELECT max(leaf_index) FROM entries').pluck().get();
    const ids = Array.from({ length: HTTP.proofs }, () => idOf.get(randInt(0, top)));
    db.close();
    const proofMs = new Float64Array(HTTP.proofs);
    await runConcurrently(HTTP.proofs, HTTP.connections, async (k) => {
      const s = now();
      await get(`/v1/events/${ids[k]}/proof`);
      proofMs[k] = msSince(s);
    });
    const searches = {};
    for (const [name, query] of [
      ['resource', 'resource=repo%3Aacme%2Fpayments'],
      ['action', 'action=github.delete_repo'],
      ['actor', `actor=${encodeURIComponent(ACTOR)}`],
    ]) {
      const ms = [];
      for (let i = 0; i < SEARCH_SAMPLES; i++) {
        const s = now();
        const page = JSON.parse(await get(`/v1/events?${query}&order=desc&limit=50`));
        ms.push(msSince(s));
        if (page.events.length === 0) throw new Error(`${label}: no records for ${query}`);
      }
      searches[name] = summarize(ms);
    }
    const coverageMs = [];
    for (let i = 0; i < COVERAGE_SAMPLES; i++) {
      const s = now();
      await get('/v1/reports/coverage');
      coverageMs.push(msSince(s));
    }
    const status = procStatus(collector.pid);
    return {
      size,
      startMs,
      afterStartRssMb: afterStart.rssKb / 1024,
      hwmMb: status.hwmKb / 1024,
      rssMb: status.rssKb / 1024,
      proofHttp: summarize(proofMs),
      searches,
      coverage: summarize(coverageMs),
    };
  } finally {
    agent.destroy();
    await collector.stop();
  }
}

// The generator's actors (bench/lib/records.js): the first one, for the actor search.
const ACTOR = 'spiffe://acme.test/agent/researcher/instance/7f3a';

async function measure(size) {
  const dir = dirOf(size);
  say(`— ${fmtInt(size)} records (${dir})`);
  const disk = diskUse(dir);
  say(
    `  disk: ${(disk.bytes / 2 ** 30).toFixed(2)} GiB for ${fmtInt(disk.records)} records = ${fmtInt(disk.perRecord)} B/record; canonical ${fmtInt(disk.canonical)} B: ${(disk.perRecord / disk.canonical).toFixed(2)}×`,
  );
  for (const p of disk.parts.slice(0, 8)) {
    say(`    ${p.name}: ${fmtInt(p.bytes / disk.records)} B/record`);
  }
  const p = await proofs.run({ quick, say, ledgerDir: dir });
  const home = tempDir('growth-home');
  let floor;
  let cli;
  try {
    if (values['no-verify']) throw new Skip();
    floor = verify.floor(join(dir, LEDGER_FILE));
    say(`  verify floor: ${fmtInt(floor.perSec)} rows/s`);
    cli = await verify.cli(dir, home);
    say(
      `  provenant verify: ${fmtInt(cli.perSec)} records/s (${(cli.perSec / floor.perSec).toFixed(2)}× the floor)`,
    );
  } catch (e) {
    if (!(e instanceof Skip)) throw e;
    say('  verify: skipped (--no-verify)');
  } finally {
    removeDir(home);
  }
  const http = await httpLoad(dir, `${size}`);
  say(
    `  collector: VmHWM ${http.hwmMb.toFixed(1)} MB (start ${fmtInt(http.startMs)} ms); proof over HTTP p99 ${http.proofHttp.p99.toFixed(2)} ms; coverage p50 ${http.coverage.p50.toFixed(0)} ms; searches p50 ${Object.entries(
      http.searches,
    )
      .map(([k, v]) => `${k} ${v.p50.toFixed(1)} ms`)
      .join(', ')}`,
  );
  const v = cli ? { floor, cli, ratio: cli.perSec / floor.perSec } : null;
  return { size, disk, proofs: p, verify: v, http };
}

class Skip extends Error {}

/** Earlier results of this benchmark (growth-results.json in the cache), by size. */
function earlier() {
  try {
    return JSON.parse(readFileSync(join(CACHE, 'growth-results.json'), 'utf8'));
  } catch {
    return {};
  }
}

mkdirSync(CACHE, { recursive: true });
const info = {
  date: new Date().toISOString(),
  machine: machine(),
  loadStart: loadavg(),
  freeGiB: freeGiB(CACHE),
};
say(
  `growth: ledgers of ${SIZES.map(fmtInt).join(' and ')} records in ${CACHE}; ${info.freeGiB.toFixed(0)} GiB free; load ${info.loadStart.map((l) => l.toFixed(1)).join(' ')}`,
);
const need = ((SIZES.at(-1) + SIZES.slice(0, -1).reduce((a, b) => a + b, 0)) * 2.2e3) / 2 ** 30;
if (SIZES.some((s) => cached(s) === null) && info.freeGiB < need) {
  console.error(
    `growth: about ${need.toFixed(0)} GiB needed to build, ${info.freeGiB.toFixed(0)} free`,
  );
  process.exit(1);
}
const build = await buildMissing();
if (build) {
  say(
    `built in ${(build.ms / 1000).toFixed(0)} s (${fmtInt((build.target / build.ms) * 1000)} records/s; preparing ${(build.prepareMs / 1000).toFixed(0)} s, waiting for commits ${(build.commitWaitMs / 1000).toFixed(0)} s)`,
  );
}
if (values['build-only']) process.exit(0);
// Each size's figures are kept in the cache, so a run of one size reports beside the others.
const kept = earlier();
for (const size of SIZES) {
  kept[size] = await measure(size);
  writeFileSync(join(CACHE, 'growth-results.json'), JSON.stringify(kept));
}
const results = Object.values(kept).sort((a, b) => a.size - b.size);
const emptyDir = tempDir('growth-empty');
let empty;
try {
  empty = await httpLoad(emptyDir, 'empty');
} finally {
  removeDir(emptyDir);
}
say(`  collector on an empty folder: VmHWM ${empty.hwmMb.toFixed(1)} MB`);
info.loadEnd = loadavg();
info.totalMs = msSince(t0);
info.build = build;
info.built = SIZES.map((s) => cached(s));

const markdown = render(info, results, empty);
console.log(`\n${markdown}\n`);
if (!values['no-write'] && !quick) say(`recorded in ${writeSection('growth', markdown)}`);
if (values.drop) {
  removeDir(CACHE);
  say(`removed ${CACHE}`);
}

function render(info, rows, empty) {
  const first = rows[0];
  const last = rows.at(-1);
  const ms = (v) => `${v.toFixed(3)} ms`;
  const col = (f) => rows.map(f).join(' | ');
  const head = `| measure | ${rows.map((r) => `${fmtInt(r.disk.records)} records`).join(' | ')} | target |`;
  const sep = `| --- | ${rows.map(() => '---').join(' | ')} | --- |`;
  const verifyRatio =
    last.verify && first.verify ? last.verify.cli.perSec / first.verify.cli.perSec : NaN;
  const perRecordRatio = last.disk.perRecord / last.disk.canonical;
  const rssDelta = last.http.hwmMb - empty.hwmMb;
  const worstProof = Math.max(last.proofs.inclusion.p99, last.proofs.consistency.p99);
  const met = (ok) => (ok ? 'met' : '**missed**');
  const lines = [
    `## Growth: 1M to 10M records (issue 18)`,
    '',
    `${info.date}; ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB, node ${info.machine.node}; load average ${info.loadStart.map((l) => l.toFixed(1)).join(' / ')} at the start, ${info.loadEnd.map((l) => l.toFixed(1)).join(' / ')} at the end: **the machine is shared with other agents' builds and tests**, so latencies and rates carry their load (rerun on a quiet machine: \`node bench/growth.js\`, the cached ledgers are reused). Command: \`node bench/growth.js${values.sizes ? ` --sizes ${values.sizes}` : ''}\`.`,
    '',
    `Ledgers built once by writing straight through the storage layer (the collector's \`prepareRecord\` of bench/lib/records.js's ~1.1 KB records, \`integrate\` into hash tiles, a signed checkpoint per 10,000-record batch, \`SqliteStorage.append\`)${info.build ? `: ${fmtInt(info.build.target)} records in ${(info.build.ms / 1000).toFixed(0)} s` : ', reused from the cache'}. Proofs: ${fmtInt(first.proofs.samples)} random leaves and sizes, the Log methods in-process (bench/proofs.js). Verify: \`provenant verify --data\` once, beside one bare read of every row + SHA-256. HTTP: a collector child process (\`provenant serve\`) takes ${fmtInt(HTTP.records)} records, answers ${fmtInt(HTTP.proofs)} proofs of random records over ${HTTP.connections} connections, ${SEARCH_SAMPLES} of each events search (50 a page, newest first) and ${COVERAGE_SAMPLES} coverage reports of the whole ledger, then its VmHWM is read; the same on an empty folder is the RSS baseline. Bytes on disk: the SQLite file after a WAL checkpoint, over the mean canonical record (${fmtInt(SIZE_SAMPLE)} rows sampled).`,
    '',
    head,
    sep,
    `| inclusion proof p50 / p99 (Log) | ${col((r) => `${ms(r.proofs.inclusion.p50)} / ${ms(r.proofs.inclusion.p99)}`)} | p99 ≤ 1 ms at 10M: ${met(last.proofs.inclusion.p99 <= 1)} |`,
    `| consistency proof p50 / p99 (Log) | ${col((r) => `${ms(r.proofs.consistency.p50)} / ${ms(r.proofs.consistency.p99)}`)} | p99 ≤ 1 ms at 10M: ${met(last.proofs.consistency.p99 <= 1)} |`,
    `| GET /v1/events/{id}/proof p99 (inject) | ${col((r) => ms(r.proofs.proofRoute.p99))} | |`,
    `| floor: one hash tile by primary key p99 | ${col((r) => ms(r.proofs.nodeRead.p99))} | |`,
    `| provenant verify, records/s | ${col((r) => (r.verify ? `${fmtInt(r.verify.cli.perSec)} (${r.verify.ratio.toFixed(2)}× floor)` : 'not measured'))} | 10M ≥ 0.9× 1M: ${Number.isNaN(verifyRatio) ? 'not measured' : `${verifyRatio.toFixed(2)}× ${met(verifyRatio >= 0.9)}`} |`,
    `| floor: read + SHA-256, rows/s | ${col((r) => (r.verify ? fmtInt(r.verify.floor.perSec) : '–'))} | |`,
    `| coverage report (whole ledger) p50 | ${col((r) => `${fmtInt(r.http.coverage.p50)} ms`)} | |`,
    ...Object.keys(last.http.searches).map(
      (k) =>
        `| events search by ${k}, p50 / p99 | ${col((r) => `${r.http.searches[k].p50.toFixed(1)} / ${r.http.searches[k].p99.toFixed(1)} ms`)} | |`,
    ),
    `| proof over HTTP p99 (4 connections) | ${col((r) => ms(r.http.proofHttp.p99))} | |`,
    `| collector VmHWM (empty folder: ${empty.hwmMb.toFixed(1)} MB) | ${col((r) => `${r.http.hwmMb.toFixed(1)} MB (+${(r.http.hwmMb - empty.hwmMb).toFixed(1)})`)} | ≤ +50 MB at 10M: ${met(rssDelta <= 50)} |`,
    `| collector start | ${col((r) => `${fmtInt(r.http.startMs)} ms`)} | |`,
    `| bytes on disk per record (canonical ${fmtInt(last.disk.canonical)} B) | ${col((r) => `${fmtInt(r.disk.perRecord)} (${(r.disk.perRecord / r.disk.canonical).toFixed(2)}×)`)} | ≤ 1.6×: ${perRecordRatio.toFixed(2)}× ${met(perRecordRatio <= 1.6)} |`,
    '',
    `Where the bytes go at ${fmtInt(rows.find((r) => r.disk.parts.length > 0)?.disk.records ?? 0)} records (dbstat, bytes per record): ${(
      rows.findLast((r) => r.disk.parts.length > 0)?.disk.parts ?? []
    )
      .filter((p) => p.bytes / last.disk.records >= 0.5)
      .map(
        (p) =>
          `${p.name} ${fmtInt(p.bytes / (rows.findLast((r) => r.disk.parts.length > 0)?.disk.records ?? 1))}`,
      )
      .join(', ')}.`,
    '',
    `Worst proof p99 at ${fmtInt(last.disk.records)}: ${ms(worstProof)}.`,
  ];
  return lines.join('\n');
}
