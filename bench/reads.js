#!/usr/bin/env node
// Benchmark of issue 14, "reads that stall the log": a collector process on a SQLite ledger of
// 100,000 records (20,000 with --quick) plus hostile data, loaded by ingest alone and by the same
// ingest while 8 clients request provenance and traces over the hostile data, in one run:
//   1. GET /healthz p99 ≤ 100 ms while the 8 readers run;
//   2. ingest records/s with the readers ≥ 0.8× ingest records/s without them.
// The phases alternate (quiet, readers, quiet, readers) on the same collector so drift on a
// shared machine falls on both; /healthz is sampled in every phase by one client, one request at
// a time, a 20 ms pause between requests, from a thread of its own (./lib/health-sampler.js).
//
//   node bench/reads.js [--quick] [--no-write] [--cpu-prof DIR]
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { uuidv7 } from '@provenant/core';
import { buildLedger } from './lib/ledger.js';
import { startHealthSampler } from './lib/health-sampler.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import { recordGenerator } from './lib/records.js';
import {
  fmtInt,
  fmtMs,
  machine,
  msSince,
  now,
  removeDir,
  startCollector,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    'cpu-prof': { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('node bench/reads.js [--quick] [--no-write] [--cpu-prof DIR]');
  process.exit(0);
}
const quick = values.quick;
const SIZE = quick ? 20_000 : 100_000;
const PLANTED = 10_000;
const READERS = 8;
const BATCH = 500;
const INGEST_CONNECTIONS = 4;
/** Records ingested per phase. */
const PHASE_RECORDS = quick ? 10_000 : 30_000;
const ROUNDS = 2;
const TARGETS = { healthP99Ms: 100, ingestRatio: 0.8 };
const TRACE = 'badc0ffeebadc0ffeebadc0ffeebadc0';
const VICTIM = { id: 'user:victim', kind: 'human' };

const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const date = execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
const mach = machine();
const loadStart = loadavg()[0];
if (loadStart > 0.5) {
  say(`warning: load average ${loadStart.toFixed(2)} before the run: the machine is not idle`);
}
say(`${date}; ${mach.nproc} × ${mach.model}, ${mach.ramGiB.toFixed(1)} GiB, node ${mach.node}`);

const span = (i) => i.toString(16).padStart(16, '0');
const planted = (type, extra) => ({
  schema: 'provenant.event/v1',
  id: uuidv7(),
  time: new Date().toISOString(),
  type,
  initiator: VICTIM,
  actor: { id: 'spiffe://bench.test/agent/planter/instance/1', kind: 'agent_instance' },
  ...extra,
});

/** Posts `records` (an array, or a body already stringified) and checks every one was accepted. */
async function post(agent, url, records) {
  const body = typeof records === 'string' ? records : JSON.stringify(records);
  const count = typeof records === 'string' ? BATCH : records.length;
  const res = await send(agent, `${url}/v1/events`, {
    method: 'POST',
    body,
    headers: {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    },
  });
  if (res.status !== 200)
    throw new Error(`ingest answered ${res.status}: ${res.body.slice(0, 300)}`);
  const answer = JSON.parse(res.body);
  if (answer.accepted.length !== count)
    throw new Error(`ingest accepted ${answer.accepted.length}/${count}`);
}

/**
 * The hostile data: one trace of PLANTED records chained span to span (10,000 deep, the trace
 * that answered 500), every record also a planted "security.alert" or "credential.revoked" of the
 * victim after the victim's action, for provenance's searches to wade through.
 */
async function plant(agent, url) {
  const action = planted('tool.called', {
    time: new Date(Date.now() - 60_000).toISOString(),
    action: { name: 'fs.read', resource: 'file:/etc/hosts' },
    outcome: { status: 'success' },
  });
  await post(agent, url, [action]);
  const records = Array.from({ length: PLANTED }, (_, i) =>
    planted(i % 2 === 0 ? 'security.alert' : 'credential.revoked', {
      ...(i % 2 === 0
        ? { action: { name: 'planted', resource: `record:${action.id}` } }
        : { credential: { jti: uuidv7(), iss: 'x', sub: VICTIM.id, iat: 1, exp: 2 } }),
      trace: {
        trace_id: TRACE,
        span_id: span(i + 1),
        ...(i === 0 ? {} : { parent_span_id: span(i) }),
      },
    }),
  );
  for (let i = 0; i < records.length; i += 2500) await post(agent, url, records.slice(i, i + 2500));
  return action.id;
}

/** The `next` link of a trace page (null on the last), from the head of the answer. */
function nextPage(body) {
  const head = body.slice(0, body.indexOf('"roots"'));
  const next = JSON.parse(`${head.replace(/,$/, '')}}`).next;
  if (next === undefined) throw new Error(`a trace page without "next": ${body.slice(0, 200)}`);
  return next;
}

/** One phase: PHASE_RECORDS ingested over INGEST_CONNECTIONS; readers optional; health sampled. */
async function phase(url, gen, { readers, actionId, auth }) {
  // Bodies are made before the phase starts, as bench/ingest.js does.
  const bodies = [];
  for (let i = 0; i < PHASE_RECORDS; i += BATCH) {
    const batch = [];
    for (let j = 0; j < BATCH; j++) batch.push(gen.next());
    bodies.push(JSON.stringify(batch));
  }
  let done = false;
  const reads = { provenance: 0, trace: 0, failed: 0 };
  // In a thread of its own, so it times the collector and not this process's event loop.
  const sampler = startHealthSampler(url, { pauseMs: 20 });
  const readAgent = keepAliveAgent(READERS);
  const reader = async (i) => {
    // Half provenance of the planted action, half trace pages walked with their cursors.
    let next = `/v1/traces/${TRACE}`;
    while (!done) {
      const kind = i % 2 === 0 ? 'provenance' : 'trace';
      const path = kind === 'provenance' ? `/v1/events/${actionId}/provenance` : next;
      const res = await send(readAgent, `${url}${path}`, { headers: auth });
      if (res.status !== 200) {
        reads.failed++;
        throw new Error(`${path} answered ${res.status}: ${res.body.slice(0, 200)}`);
      }
      reads[kind]++;
      // `next` comes before the page's records: read it without parsing them (this process
      // shares the 2 cores with the collector it measures).
      if (kind === 'trace') next = nextPage(res.body) ?? `/v1/traces/${TRACE}`;
    }
  };
  const readerRuns = readers ? Array.from({ length: READERS }, (_, i) => reader(i)) : [];
  // The readers get going before ingest is timed.
  if (readers) while (reads.provenance + reads.trace < READERS) await sleep(5);
  const agent = keepAliveAgent(INGEST_CONNECTIONS);
  const start = now();
  let ms = 0;
  // Ingest is anonymous (asserted), as the planted records were. The loops end with it, failed
  // or not, before the collector is stopped.
  const ingest = runConcurrently(bodies.length, INGEST_CONNECTIONS, (i) =>
    post(agent, url, bodies[i]),
  ).finally(() => {
    ms = msSince(start);
    done = true;
  });
  const settled = await Promise.allSettled([ingest, ...readerRuns]);
  const health = await sampler.stop();
  const failed = settled.find((r) => r.status === 'rejected');
  if (failed) throw failed.reason;
  agent.destroy();
  readAgent.destroy();
  return { ms, perSec: (PHASE_RECORDS / ms) * 1000, health, reads };
}

const dir = tempDir('reads');
let collector;
const results = { phases: [] };
try {
  say(`building a ${fmtInt(SIZE)}-entry ledger in ${dir}`);
  results.ledger = await buildLedger(dir, SIZE, say);
  // --cpu-prof DIR: a V8 CPU profile of the collector (bench/profile-summary.js reads it).
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  collector = await startCollector(dir, { nodeArgs, args: ['--anonymous-ingest', 'asserted'] });
  const tokenFile = join(dir, 'admin.token');
  // The admin token holds every role: reads that need one (issue 19) pass.
  const auth = existsSync(tokenFile)
    ? { authorization: `Bearer ${readFileSync(tokenFile, 'utf8').trim()}` }
    : {};
  const setup = keepAliveAgent(2);
  say(`planting ${fmtInt(PLANTED)} hostile records (one trace ${fmtInt(PLANTED)} deep)`);
  const actionId = await plant(setup, collector.url);
  setup.destroy();
  const gen = recordGenerator(Date.UTC(2026, 11, 1));
  for (let round = 1; round <= ROUNDS; round++) {
    for (const readers of [false, true]) {
      const r = await phase(collector.url, gen, { readers, actionId, auth });
      const h = summarize(r.health);
      say(
        `  round ${round}, ${readers ? `${READERS} readers` : 'no readers'}: ingest ${fmtInt(Math.round(r.perSec))} records/s; ` +
          `/healthz p50 ${fmtMs(h.p50)} p99 ${fmtMs(h.p99)} max ${fmtMs(h.max)} (${h.n} samples)` +
          (readers
            ? `; ${r.reads.provenance} provenance and ${r.reads.trace} trace pages answered`
            : ''),
      );
      results.phases.push({ round, readers, ...r, healthSummary: h });
    }
  }
} catch (e) {
  if (collector) console.error(`collector stderr: ${collector.stderr().slice(-2000)}`);
  throw e;
} finally {
  await collector?.stop();
  removeDir(dir);
}
const loadEnd = loadavg()[0];
const totalMs = msSince(t0);

const quiet = results.phases.filter((p) => !p.readers);
const loaded = results.phases.filter((p) => p.readers);
const rate = (ps) => (ps.length * PHASE_RECORDS * 1000) / ps.reduce((s, p) => s + p.ms, 0);
const ratio = rate(loaded) / rate(quiet);
const healthLoaded = summarize(loaded.flatMap((p) => p.health));
const healthQuiet = summarize(quiet.flatMap((p) => p.health));
const reads = loaded.reduce(
  (s, p) => ({ provenance: s.provenance + p.reads.provenance, trace: s.trace + p.reads.trace }),
  { provenance: 0, trace: 0 },
);
const met = (ok) => (ok ? 'met' : 'missed');
const rows = [
  [
    `/healthz during ${READERS} readers (p99 of ${healthLoaded.n}; p50 ${fmtMs(healthLoaded.p50)}, max ${fmtMs(healthLoaded.max)})`,
    fmtMs(healthLoaded.p99),
    `without readers: p99 ${fmtMs(healthQuiet.p99)} (p50 ${fmtMs(healthQuiet.p50)})`,
    `p99 ≤ ${TARGETS.healthP99Ms} ms`,
    met(healthLoaded.p99 <= TARGETS.healthP99Ms),
  ],
  [
    `Ingest during ${READERS} readers (${fmtInt(Math.round(rate(loaded)))} records/s)`,
    `${ratio.toFixed(2)}×`,
    `without readers: ${fmtInt(Math.round(rate(quiet)))} records/s`,
    `≥ ${TARGETS.ingestRatio}×`,
    met(ratio >= TARGETS.ingestRatio),
  ],
];
const table = [
  '| Benchmark | Measured | Baseline (same run) | Target | |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(`\n${table}\n`);
console.log(`total run time ${(totalMs / 60_000).toFixed(1)} min`);

const command = `node bench/reads.js${quick ? ' --quick' : ''}`;
const perPhase = results.phases
  .map(
    (p) =>
      `round ${p.round} ${p.readers ? 'readers' : 'quiet'} ${fmtInt(Math.round(p.perSec))}/s, health p99 ${fmtMs(p.healthSummary.p99)}`,
  )
  .join('; ');
const markdown = `## Reads beside ingest (issue 14)

${date}; ${mach.nproc} × ${mach.model}, ${mach.ramGiB.toFixed(1)} GiB RAM, Node ${mach.node}. Command: \`${command}\`${quick ? ` (quick: a ${fmtInt(SIZE)}-record ledger, not the 100,000 of the target)` : ''}. Load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end (the machine is shared with other work${loadStart > 0.5 || loadEnd > 0.5 ? ': not idle during this run' : ''}); total ${(totalMs / 60_000).toFixed(1)} min.

${table}

A collector process (\`provenant serve\`, SQLite) on a ledger of ${fmtInt(SIZE)} generated records (~1.1 KB each, built in-process), plus ${fmtInt(PLANTED + 1)} hostile records posted anonymously: an action of \`user:victim\`, and one trace of ${fmtInt(PLANTED)} records chained span to span (${fmtInt(PLANTED)} deep), every one of them also a planted \`security.alert\` about the action or a \`credential.revoked\` of the victim, for provenance's searches to wade through. ${ROUNDS} rounds of two phases on the same collector, quiet then with readers: ${fmtInt(PHASE_RECORDS)} records ingested per phase in batches of ${BATCH} over ${INGEST_CONNECTIONS} keep-alive connections; in the reader phases ${READERS} more clients loop from before ingest starts until it ends, 4 on \`GET /v1/events/{id}/provenance\` of the victim's action (its searches read verified rows only, so the planted ones stay in the storage) and 4 walking the trace's pages (1,000 records each) by \`next\`; ${fmtInt(reads.provenance)} provenance answers and ${fmtInt(reads.trace)} trace pages in all. \`/healthz\` is sampled in every phase by one more client, one request at a time with 20 ms between, from a worker thread of the benchmark process (so its latencies are the collector's, not waits for the load generator's own event loop); request bodies are stringified before each phase. The ratio is records/s over the reader phases against records/s over the quiet phases. Per phase: ${perPhase}. The load generator runs on the same machine as the collector.`;
if (!values['no-write']) {
  const file = writeSection('reads', markdown);
  console.log(`recorded in ${file}`);
}
