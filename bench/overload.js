#!/usr/bin/env node
// Overload (issue 19, item 5): 100 concurrent clients posting 5 MB NDJSON batches to a
// collector process sized for less (its default admission limits: 16 bodies, 8 MiB declared in
// flight). A client refused (503/429) waits for Retry-After and sends the same batch again (ids
// make it idempotent), until its batches are acknowledged or the run's deadline passes.
// Targets: refused requests answered with p99 ≤ 2 s, collector peak RSS ≤ 1 GiB, every
// acknowledged record present in the log afterwards (read back through GET /v1/export).
//
//   node bench/overload.js [--quick] [--no-write] [--clients N] [--batches N] [--cpu-prof DIR]
//                          [--limit NAME=N ...]   (serve --limit, e.g. max-bodies-in-flight=2)
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { recordGenerator } from './lib/records.js';
import {
  CLI,
  machine,
  msSince,
  now,
  procStatus,
  removeDir,
  startCollector,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';

const TARGET_REFUSED_P99_MS = 2000;
const TARGET_RSS_MIB = 1024;
const BATCH_BYTES = 5 * 1000 * 1000;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    clients: { type: 'string' },
    batches: { type: 'string' },
    'cpu-prof': { type: 'string' },
    limit: { type: 'string', multiple: true },
  },
  strict: true,
});
const clients = Number(values.clients ?? (values.quick ? 20 : 100));
const batches = Number(values.batches ?? 1);
const deadlineMs = values.quick ? 120_000 : 300_000;

/** One NDJSON batch of about 5 MB (records of ~1.1 KB), and its ids. */
function makeBatch(gen) {
  const lines = [];
  const ids = [];
  let bytes = 0;
  while (bytes < BATCH_BYTES - 2000) {
    const r = gen.next();
    const line = `${JSON.stringify(r)}\n`;
    lines.push(line);
    ids.push(r.id);
    bytes += line.length;
  }
  return { body: Buffer.from(lines.join('')), ids };
}

/** Keep-alive sockets whose errors (a connection the collector cut) never go unhandled. */
class GuardedAgent extends Agent {
  createConnection(options, callback) {
    const socket = super.createConnection(options, callback);
    socket.on('error', () => {});
    return socket;
  }
}

/** One POST; resolves at the answer's head (latency) and once its body is read. */
function post(agent, url, body) {
  return new Promise((resolve) => {
    const start = now();
    const req = request(
      `${url}/v1/events`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/x-ndjson', 'content-length': body.length },
      },
      (res) => {
        const headMs = msSince(start);
        const parts = [];
        res.on('data', (d) => parts.push(d));
        res.on('end', () => {
          // A refused client stops sending the body the collector declined (a new connection
          // carries the retry); an acknowledged one has sent it all.
          if (res.statusCode !== 200) req.destroy();
          resolve({
            status: res.statusCode,
            headMs,
            retryAfter: Number(res.headers['retry-after'] ?? 0),
            body: Buffer.concat(parts).toString(),
          });
        });
        res.on('error', () => resolve({ status: 0, headMs, retryAfter: 1, body: '' }));
      },
    );
    // A refusal may come while the body is still being sent; the answer is what counts. A
    // connection cut counts as status 0 (and is retried like a refusal).
    req.on('error', () => resolve({ status: 0, headMs: msSince(start), retryAfter: 1, body: '' }));
    req.end(body);
  });
}

/** The ids of every stored record, read as the export streams (it can exceed a string's size). */
async function readExportIds(url, token) {
  const res = await fetch(`${url}/v1/export?format=jsonl`, {
    headers: { authorization: `Bearer ${token}` },
  });
  if (res.status !== 200) throw new Error(`export answered ${res.status}`);
  const ids = new Set();
  const decoder = new TextDecoder();
  let rest = '';
  const take = (line) => {
    if (line) ids.add(JSON.parse(line).id);
  };
  for await (const chunk of res.body) {
    const lines = (rest + decoder.decode(chunk, { stream: true })).split('\n');
    rest = lines.pop();
    lines.forEach(take);
  }
  take(rest + decoder.decode());
  return ids;
}

const dir = tempDir('overload');
let result;
try {
  const help = execFileSync(process.execPath, [CLI, 'serve', '--help'], { encoding: 'utf8' });
  // Once anonymous ingest is a choice (issue 19, item 3), these asserted records need it on.
  const args = [
    ...(help.includes('--anonymous-ingest') ? ['--anonymous-ingest', 'asserted'] : []),
    ...(values.limit ?? []).flatMap((l) => ['--limit', l]),
  ];
  const nodeArgs = values['cpu-prof'] ? ['--cpu-prof', `--cpu-prof-dir=${values['cpu-prof']}`] : [];
  const collector = await startCollector(dir, { args, nodeArgs });
  // Never leave the collector running, even if this script dies.
  process.once('exit', () => collector.child.kill('SIGKILL'));
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  let peakKb = 0;
  const sampler = setInterval(() => {
    const s = procStatus(collector.pid);
    peakKb = Math.max(peakKb, s.hwmKb ?? 0, s.rssKb ?? 0);
  }, 100);
  try {
    // Every batch is made before the first request: making one takes the client's event loop for
    // a while, which would delay the answers it measures.
    const gen = recordGenerator();
    const planned = Array.from({ length: clients }, () =>
      Array.from({ length: batches }, () => makeBatch(gen)),
    );
    const refused = [];
    const acceptedMs = [];
    const statuses = {};
    const acked = new Set();
    let unfinished = 0;
    const t0 = now();
    const client = async (c) => {
      const agent = new GuardedAgent({ keepAlive: true, maxSockets: 1 });
      for (const { body, ids } of planned[c]) {
        for (;;) {
          if (msSince(t0) > deadlineMs) {
            unfinished++;
            break;
          }
          const r = await post(agent, collector.url, body);
          statuses[r.status] = (statuses[r.status] ?? 0) + 1;
          if (r.status === 200) {
            acceptedMs.push(r.headMs);
            for (const a of JSON.parse(r.body).accepted) acked.add(a.id);
            if (JSON.parse(r.body).accepted.length !== ids.length) {
              throw new Error(`batch partly refused: ${r.body.slice(0, 300)}`);
            }
            break;
          }
          if (r.status === 503 || r.status === 429) refused.push(r.headMs);
          await new Promise((resolve) => setTimeout(resolve, (r.retryAfter || 1) * 1000));
        }
      }
      agent.destroy();
    };
    await Promise.all(Array.from({ length: clients }, (_, c) => client(c)));
    const wallMs = msSince(t0);
    const stored = await readExportIds(collector.url, token);
    let missing = 0;
    for (const id of acked) if (!stored.has(id)) missing++;
    result = {
      wallMs,
      statuses,
      refused: refused.length ? summarize(refused) : null,
      accepted: summarize(acceptedMs),
      acked: acked.size,
      missing,
      unfinished,
      peakMiB: peakKb / 1024,
    };
  } finally {
    clearInterval(sampler);
    await collector.stop();
  }
} finally {
  removeDir(dir);
}

const m = machine();
const date = execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
const refusedOk = result.refused !== null && result.refused.p99 <= TARGET_REFUSED_P99_MS;
const rssOk = result.peakMiB <= TARGET_RSS_MIB;
const presentOk = result.missing === 0 && result.acked > 0;
const fmt = (s) => (s ? `${s.p50.toFixed(0)} / ${s.p99.toFixed(0)} / ${s.max.toFixed(0)} ms` : '—');
const lines = [
  `| what | measured | target |`,
  `| --- | ---: | ---: |`,
  `| refused requests (503/429): count; time to the answer p50 / p99 / max | ${result.refused?.n ?? 0}; ${fmt(result.refused)} | p99 ≤ ${TARGET_REFUSED_P99_MS} ms: ${refusedOk ? 'met' : 'NOT met'} |`,
  `| acknowledged requests: count; time to the answer p50 / p99 / max | ${result.accepted.n}; ${fmt(result.accepted)} | |`,
  `| collector peak RSS | ${result.peakMiB.toFixed(0)} MiB | ≤ ${TARGET_RSS_MIB} MiB: ${rssOk ? 'met' : 'NOT met'} |`,
  `| acknowledged records present in the log afterwards | ${result.acked - result.missing} of ${result.acked} | all: ${presentOk ? 'met' : 'NOT met'} |`,
];
const section = `Measured ${date} on ${m.nproc} × ${m.model}, ${m.ramGiB.toFixed(1)} GiB, node ${m.node}, with \`node bench/overload.js${values.quick ? ' --quick' : ''}\` (load average ${loadavg()[0].toFixed(2)} at the end: the machine was shared with other jobs). ${clients} clients at once, each posting ${batches} NDJSON batch${batches === 1 ? '' : 'es'} of 5 MB (~4,500 records of ~1.1 KB) on its own keep-alive connection to a \`provenant serve\` process with ${values.limit?.length ? `\`--limit ${values.limit.join(' --limit ')}\` and otherwise ` : ''}its default limits (16 bodies and 8 MiB declared in flight, 8 MiB per body: one 5 MB batch at a time): ${(clients * batches * 5).toLocaleString('en-US')} MB offered to a collector sized to hold 8 MiB of bodies. A refused client waits for \`Retry-After\` and sends the same batch again. Answers by status: ${Object.entries(
  result.statuses,
)
  .map(([s, n]) => `${s}: ${n}`)
  .join(
    ', ',
  )}; ${result.unfinished} batches unsent at the deadline; run time ${(result.wallMs / 1000).toFixed(1)} s. Peak RSS is the collector's VmHWM, sampled every 100 ms.

${lines.join('\n')}

Before admission control (requests counted only as records queued for commit), a burst of 200 such clients drove the median latency to 35–70 s and the collector's memory to 2.9 GB before anything was refused (issue 19).`;
console.log(`\n${section}\n`);
if (!values['no-write']) {
  console.log(
    `recorded in ${writeSection('overload', `## Overload: admission before the body is read (issue 19)\n\n${section}`)}`,
  );
}
if (!refusedOk || !rssOk || !presentOk) process.exitCode = 1;
