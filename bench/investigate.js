#!/usr/bin/env node
// Benchmarks of issue 7 (investigation), each beside its baseline in the same run, on one SQLite
// ledger of 1,000,000 records (100,000 with --quick):
//   1. GET /v1/events/{id}/provenance of an action with a 4-hop chain (alice → a1 → a2 → a3 → a4),
//      p99 ≤ 50 ms; baseline GET /v1/events/{id}, the cheapest read;
//   2. GET /v1/traces/{trace_id} of a 1,000-record trace, ≤ 50 ms; baseline the bare SQLite read
//      of the trace's rows;
//   3. GET /v1/reports/coverage over the whole ledger, ≤ 3 s; baseline the bare full-table read
//      `SELECT record FROM entries`, iterated.
// The background records are built in-process (bench/lib/ledger.js, 10,000-entry batches), then
// a collector is started in-process on that data folder (`startCollector`) and the chains and the
// trace are written through its API, as the server writes them (issuer credential.issued /
// delegation.granted records, a policy.decision, the action). Requests go through `app.inject`.
//
//   node bench/investigate.js [--quick] [--no-write]
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { setImmediate } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { uuidv7 } from '@provenant/core';
import { startCollector } from '@provenant/server';
import { LEDGER_FILE } from '@provenant/server/offline';
import { buildLedger } from './lib/ledger.js';
import { Database } from './lib/sqlite.js';
import {
  ROOT,
  fmtInt,
  fmtMs,
  machine,
  msSince,
  now,
  removeDir,
  summarize,
  tempDir,
  writeSection,
} from './lib/util.js';
import { agentKey } from './lib/agent.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
  strict: true,
});
if (values.help) {
  console.log('node bench/investigate.js [--quick] [--no-write]');
  process.exit(0);
}
const quick = values.quick;
const SIZE = quick ? 100_000 : 1_000_000;
const CHAINS = 5;
const TRACE_RECORDS = 1000;
const SAMPLES = { provenance: 200, trace: 50, coverage: 3 };
const TARGETS = { provenance: 50, trace: 50, coverage: 3000 };
const TD = 'acme.test';
const EXAMPLES = join(ROOT, 'examples', 'policies');

const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const date = execFileSync('date', ['-u'], { encoding: 'utf8' }).trim();
const mach = machine();
const loadStart = loadavg()[0];
if (loadStart > 0.5) {
  say(`warning: load average ${loadStart.toFixed(2)} before the run: the machine is not idle`);
}
say(`${date}; ${mach.nproc} × ${mach.model}, ${mach.ramGiB.toFixed(1)} GiB, node ${mach.node}`);

const hex = (bytes) => randomBytes(bytes).toString('hex');

/** The API through `app.inject`, in-process, no sockets. */
function client(app, adminToken) {
  const call = async (method, url, { body, bearer, form } = {}) => {
    const res = await app.inject({
      method,
      url,
      headers: {
        ...(form ? { 'content-type': 'application/x-www-form-urlencoded' } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        ...(bearer ? { authorization: `Bearer ${bearer}` } : {}),
      },
      ...(form ? { payload: new URLSearchParams(form).toString() } : {}),
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return res;
  };
  const ok = async (method, url, opts, expect = [200, 201]) => {
    const res = await call(method, url, opts);
    if (!expect.includes(res.statusCode))
      throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 400)}`);
    return res.json();
  };
  return {
    call,
    ok,
    register: (principal) =>
      ok('POST', '/v1/principals', {
        body: { shared: false, disabled: false, ...principal },
        bearer: adminToken,
      }),
    token: async (form) => (await ok('POST', '/v1/token', { form })).access_token,
  };
}

/** alice → a1 → a2 → a3 → a4, scopes narrowing; a decision, and a4's action citing it. */
async function provenanceChain(api, tokenEndpoint, n) {
  const user = `alice-${n}`;
  await api.register({ id: `user:${user}`, kind: 'human' });
  const roles = ['planner', 'coder', 'reviewer', 'researcher'];
  const scopes = [
    'repo:read repo:write chat:write',
    'repo:read repo:write chat:write',
    'repo:read repo:write',
    'repo:read',
  ];
  let credential = await api.token({
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: user,
    scope: 'repo:read repo:write chat:write issues:write',
  });
  let agent;
  for (let hop = 0; hop < 4; hop++) {
    agent = await agentKey(`spiffe://${TD}/agent/${roles[hop]}/instance/c${n}h${hop + 1}`);
    await api.register({
      id: agent.id,
      kind: 'agent_instance',
      agent: roles[hop],
      publicJwks: [agent.jwk],
    });
    credential = await api.token({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: credential,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token: await agent.assertion(tokenEndpoint),
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      scope: scopes[hop],
    });
  }
  const action = { name: 'github.get_file', resource: 'repo:acme/payments', risk: 'low' };
  const task = `task-chain-${n}`;
  const decision = await api.ok('POST', '/v1/decisions', {
    body: { action, task_id: task },
    bearer: credential,
  });
  if (decision.decision !== 'allow') throw new Error(`decision: ${JSON.stringify(decision)}`);
  const record = {
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date().toISOString(),
    type: 'tool.called',
    initiator: { id: `user:${user}`, kind: 'human' },
    cause: { kind: 'agent_decision' },
    actor: { id: agent.id, kind: 'agent_instance', agent: 'researcher' },
    action,
    policy: { decision_id: decision.decision_id, engine: 'cedar', decision: 'allow' },
    outcome: { status: 'success', duration_ms: 40 },
    trace: { trace_id: hex(16), span_id: hex(8) },
    task_id: task,
  };
  const a = await api.ok('POST', '/v1/events', { body: [record], bearer: credential });
  if (a.accepted?.length !== 1) throw new Error(`action: ${JSON.stringify(a)}`);
  return record.id;
}

/** A 1,000-record trace: a root prompt and a tree of tool calls, four children a span. */
async function writeTrace(api) {
  const traceId = hex(16);
  const spans = Array.from({ length: TRACE_RECORDS }, () => hex(8));
  const base = Date.now() - 60_000;
  const records = spans.map((span, i) => ({
    schema: 'provenant.event/v1',
    id: uuidv7(),
    time: new Date(base + i * 7).toISOString(),
    type: i === 0 ? 'prompt.received' : i % 2 ? 'tool.called' : 'tool.result',
    initiator: { id: 'user:bob-trace', kind: 'human' },
    cause: { kind: i === 0 ? 'human_prompt' : 'agent_decision' },
    actor: {
      id: `spiffe://${TD}/agent/coder/instance/tr${i % 8}`,
      kind: 'agent_instance',
      agent: 'coder',
    },
    ...(i === 0
      ? {}
      : {
          action: {
            name: 'github.create_issue',
            resource: `repo:acme/web-${i % 20}`,
            risk: 'low',
            args: { n: i },
          },
          outcome: { status: 'success', duration_ms: 5 + (i % 50) },
        }),
    trace: {
      trace_id: traceId,
      span_id: span,
      ...(i === 0 ? {} : { parent_span_id: spans[Math.floor((i - 1) / 4)] }),
    },
    task_id: 'task-trace-1',
  }));
  for (let i = 0; i < records.length; i += 250) {
    const r = await api.ok('POST', '/v1/events', { body: records.slice(i, i + 250) });
    if (r.accepted?.length !== Math.min(250, records.length - i))
      throw new Error(`trace batch: ${JSON.stringify(r).slice(0, 400)}`);
  }
  return traceId;
}

/** Times `fn` `n` times after `warm` untimed calls, one at a time, a loop turn between calls. */
async function sample(n, warm, fn) {
  for (let i = 0; i < warm; i++) {
    await fn(i);
    await setImmediate();
  }
  const out = [];
  for (let i = 0; i < n; i++) {
    const s = now();
    await fn(i);
    out.push(msSince(s));
    await setImmediate();
  }
  return summarize(out);
}

const dir = tempDir('investigate');
const results = {};
let collector = null;
process.once('SIGINT', () => {
  removeDir(dir);
  process.exit(130);
});
try {
  say(`building a ${fmtInt(SIZE)}-record background ledger in ${dir}`);
  const ledger = await buildLedger(dir, SIZE, say);
  say(
    `  built in ${(ledger.ms / 1000).toFixed(1)} s (Log.append ${fmtInt(ledger.appendPerSec)} entries/s)`,
  );

  collector = await startCollector({
    dataDir: dir,
    host: '127.0.0.1',
    port: 0,
    logger: false,
    identity: { devLogin: true },
    policiesDir: EXAMPLES,
  });
  const { app } = collector;
  const adminToken = (await import('node:fs'))
    .readFileSync(join(dir, 'admin.token'), 'utf8')
    .trim();
  const api = client(app, adminToken);
  const meta = await api.ok('GET', '/.well-known/oauth-authorization-server');
  const actions = [];
  for (let n = 0; n < CHAINS; n++) actions.push(await provenanceChain(api, meta.token_endpoint, n));
  say(`  ${CHAINS} provenance chains (4 hops each) written`);
  const traceId = await writeTrace(api);
  say(`  a ${fmtInt(TRACE_RECORDS)}-record trace written; ledger ${fmtInt(collector.log.size)}`);

  // Check the answers once before timing them.
  const first = await api.ok('GET', `/v1/events/${actions[0]}/provenance`);
  const failed = first.checks.filter((c) => !c.ok).map((c) => c.id);
  results.chain = { roles: first.chain.map((c) => c.role), ok: first.ok, failed };
  say(`  provenance: ok ${first.ok}; chain ${results.chain.roles.join(' → ')}`);
  if (failed.length > 0) say(`  warning: failed checks ${failed.join(', ')}`);
  const tree = await api.ok('GET', `/v1/traces/${traceId}`);
  if (tree.count !== TRACE_RECORDS || tree.truncated)
    throw new Error(`trace: count ${tree.count}, truncated ${tree.truncated}`);
  const covFirst = await api.ok('GET', '/v1/reports/coverage');
  results.coverageShape = Object.keys(covFirst).slice(0, 8);

  const get = (url) => async () => {
    const res = await app.inject({ url });
    if (res.statusCode !== 200) throw new Error(`${url}: ${res.statusCode} ${res.body}`);
    return res.body.length;
  };
  // 1. Provenance vs the plain read of the same actions, interleaved by rounds.
  say('provenance');
  results.provenance = await sample(SAMPLES.provenance, 20, (i) =>
    get(`/v1/events/${actions[i % CHAINS]}/provenance`)(),
  );
  results.read = await sample(SAMPLES.provenance, 20, (i) =>
    get(`/v1/events/${actions[i % CHAINS]}`)(),
  );
  say(
    `  provenance p50 ${fmtMs(results.provenance.p50)} p99 ${fmtMs(results.provenance.p99)}; GET /v1/events/{id} p99 ${fmtMs(results.read.p99)}`,
  );

  // 2. Trace vs the bare SQLite read of its rows.
  say('trace');
  results.trace = await sample(SAMPLES.trace, 5, get(`/v1/traces/${traceId}`));
  const db = new Database(join(dir, LEDGER_FILE), { readonly: true });
  try {
    const rows = db.prepare(
      'SELECT leaf_index, record FROM entries WHERE trace_id = ? ORDER BY leaf_index',
    );
    results.traceRows = await sample(SAMPLES.trace, 5, () => {
      const r = rows.all(traceId);
      if (r.length !== TRACE_RECORDS) throw new Error(`bare trace read: ${r.length} rows`);
    });
    say(
      `  trace p50 ${fmtMs(results.trace.p50)} p99 ${fmtMs(results.trace.p99)}; bare rows p99 ${fmtMs(results.traceRows.p99)}`,
    );

    // 3. Coverage vs the bare full-table read.
    say('coverage');
    results.coverage = await sample(SAMPLES.coverage, 0, get('/v1/reports/coverage'));
    const all = db.prepare('SELECT record FROM entries');
    results.scan = await sample(SAMPLES.coverage, 0, () => {
      let n = 0;
      for (const row of all.iterate()) n += row.record.length > 0 ? 1 : 0;
      if (n !== collector.log.size) throw new Error(`bare scan: ${n} rows`);
    });
    say(
      `  coverage p50 ${fmtMs(results.coverage.p50)} max ${fmtMs(results.coverage.max)}; bare scan max ${fmtMs(results.scan.max)}`,
    );
  } finally {
    db.close();
  }
  results.size = collector.log.size;
} finally {
  await collector?.close();
  removeDir(dir);
}
const loadEnd = loadavg()[0];
const totalMs = msSince(t0);

const met = (v, target) => (v <= target ? 'met' : 'missed');
const rows = [
  [
    `Provenance of an action, 4-hop chain (p99 of ${SAMPLES.provenance}; p50 ${fmtMs(results.provenance.p50)})`,
    fmtMs(results.provenance.p99),
    `GET /v1/events/{id}: p99 ${fmtMs(results.read.p99)} (p50 ${fmtMs(results.read.p50)})`,
    `p99 ≤ ${TARGETS.provenance} ms`,
    met(results.provenance.p99, TARGETS.provenance),
  ],
  [
    `Trace of ${fmtInt(TRACE_RECORDS)} records (p99 of ${SAMPLES.trace}; p50 ${fmtMs(results.trace.p50)})`,
    fmtMs(results.trace.p99),
    `bare SQLite read of its rows: p99 ${fmtMs(results.traceRows.p99)} (p50 ${fmtMs(results.traceRows.p50)})`,
    `≤ ${TARGETS.trace} ms`,
    met(results.trace.p99, TARGETS.trace),
  ],
  [
    `Coverage report over ${fmtInt(results.size)} records (max of ${SAMPLES.coverage}; p50 ${fmtMs(results.coverage.p50)})`,
    fmtMs(results.coverage.max),
    `bare \`SELECT record FROM entries\` iterated: max ${fmtMs(results.scan.max)} (p50 ${fmtMs(results.scan.p50)})`,
    `≤ ${TARGETS.coverage / 1000} s`,
    met(results.coverage.max, TARGETS.coverage),
  ],
];
const table = [
  '| Benchmark | Measured | Baseline (same run) | Target | |',
  '|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(`\n${table}\n`);
console.log(`total run time ${(totalMs / 60_000).toFixed(1)} min`);

const command = `node bench/investigate.js${quick ? ' --quick' : ''}`;
const markdown = `## Investigation (issue 7)

${date}; ${mach.nproc} × ${mach.model}, ${mach.ramGiB.toFixed(1)} GiB RAM, Node ${mach.node}. Command: \`${command}\`${quick ? ' (quick: a 100,000-record ledger, not the 1,000,000 of the targets)' : ''}. Load average ${loadStart.toFixed(2)} at the start, ${loadEnd.toFixed(2)} at the end (the machine is shared${loadStart > 0.5 || loadEnd > 0.5 ? ': not idle during this run' : ''}); total ${(totalMs / 60_000).toFixed(1)} min.

${table}

One SQLite ledger of ${fmtInt(results.size)} records: ${fmtInt(SIZE)} generated background records (~1.1 KB each, bench/lib/records.js) appended in-process in 10,000-entry batches, then a collector started in-process (\`startCollector\`, the example Cedar policies, dev sign-in) on that data folder, and through its API: ${CHAINS} chains alice → a1 → a2 → a3 → a4 (agents registered with keys, dev-login, four token exchanges with scopes narrowing, \`POST /v1/decisions\`, the action posted with a4's credential; the issuer's credential and delegation records and the decision are the collector's own), and one trace of ${fmtInt(TRACE_RECORDS)} records (a root prompt, a tree of tool calls four children a span). Provenance answer: ok ${results.chain.ok}, chain ${results.chain.roles.join(' → ')}${results.chain.failed.length ? `, failed checks ${results.chain.failed.join(', ')}` : ''}. Timed one request at a time through \`app.inject\` (in-process, no sockets) with a turn of the event loop between samples, after untimed warm-up calls (20 for provenance and the read, 5 for traces, none for coverage). The coverage report is timed over the whole range (no \`from\`/\`to\`). Baselines on the same file in the same process: one record read by id over HTTP; the bare better-sqlite3 read of the trace's rows by its index; the bare full-table read of every entry's record.`;
if (!values['no-write']) {
  const file = writeSection('investigate', markdown);
  console.log(`recorded in ${file}`);
}
