#!/usr/bin/env node
// Benchmark of issue 17's AuthZEN facade: `POST /access/v1/evaluation` over HTTP (one
// keep-alive connection, one request at a time) against `provenant serve` with the example
// Cedar policies, beside the same server's bare HTTP floor (`GET /.well-known/authzen-configuration`)
// in the same run.
//
// "Before the ledger write": every evaluation is answered only once its policy.decision record is
// durable, so the client's round trip includes the commit. The route reports, in its
// `Server-Timing` header, how long the decision took (`decide`) and how long the record's commit
// took (`ledger`); the measure is the round trip less `ledger`. Both the whole round trip and the
// server-side `decide` are reported too.
//
//   node bench/authzen.js [--quick] [--no-write] [--samples N] [--cpu-prof DIR] [--alternate]
//
// --alternate: the floor request and an evaluation in turn on the connection instead of as two
// phases (the V8 deoptimizer crash seen with Node 20.20.2; see docs/BENCHMARKS.md).
// --cpu-prof DIR: a V8 CPU profile of the collector into DIR (summarize it with
// `node bench/profile-summary.js FILE`).
import { loadavg } from 'node:os';
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { keepAliveAgent, runConcurrently } from './lib/http.js';
import {
  ROOT,
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
import { request } from 'node:http';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    samples: { type: 'string' },
    'cpu-prof': { type: 'string' },
    alternate: { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const N = values.samples ? Number(values.samples) : quick ? 500 : 5000;
const WARM = quick ? 100 : 500;

/** One request; resolves with status, body, headers and the round trip in ms. */
function timed(agent, url, { method = 'GET', body, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const start = now();
    const req = request(url, { method, agent, headers }, (res) => {
      const parts = [];
      res.setEncoding('utf8');
      res.on('data', (d) => parts.push(d));
      res.on('end', () =>
        resolve({
          ms: msSince(start),
          status: res.statusCode,
          body: parts.join(''),
          headers: res.headers,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Connections the server reset under load (each request is sent again once, and counted). */
let resets = 0;
async function timedRetry(agent, url, init) {
  try {
    return await timed(agent, url, init);
  } catch (e) {
    if (e.code !== 'ECONNRESET') throw e;
    resets++;
    return timed(agent, url, init);
  }
}

const dur = (timing, name) => {
  const m = new RegExp(`${name};dur=([0-9.]+)`).exec(timing ?? '');
  return m ? Number(m[1]) : NaN;
};

const info = { date: new Date().toISOString(), machine: machine(), loadStart: loadavg() };
const dir = tempDir('authzen');
const profileDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
const c = await startCollector(dir, {
  args: ['--dev-login', '--policies', join(ROOT, 'examples', 'policies')],
  ...(profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }),
});
try {
  const admin = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const agent = keepAliveAgent(8);
  const reg = await timed(agent, `${c.url}/v1/principals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ id: 'user:alice', kind: 'human', shared: false, disabled: false }),
  });
  if (reg.status !== 201) throw new Error(`register: ${reg.body}`);
  const login = await timed(agent, `${c.url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
      username: 'alice',
      scope: 'repo:read',
    }).toString(),
  });
  const token = JSON.parse(login.body).access_token;
  const evaluation = (i) => ({
    method: 'POST',
    headers: {
      authorization: `Bearer ${token}`,
      'content-type': 'application/json',
      'x-request-id': `bench-${i}`,
    },
    body: JSON.stringify({
      subject: { type: 'user', id: 'alice' },
      action: { name: i % 4 === 3 ? 'github.delete_repo' : 'github.get_file' },
      resource: { type: 'repo', id: 'acme/payments' },
      context: { time: '2026-12-04T05:00:00Z' },
    }),
  });
  const floor = [];
  const total = [];
  const beforeLedger = [];
  const decide = [];
  const ledger = [];
  say(`warming up (${WARM} evaluations)`);
  for (let i = 0; i < WARM; i++) await timed(agent, `${c.url}/access/v1/evaluation`, evaluation(i));
  let allowed = 0;
  const floorOnce = async () => {
    const f = await timedRetry(agent, `${c.url}/.well-known/authzen-configuration`);
    if (f.status !== 200) throw new Error(`floor: ${f.status}`);
    floor.push(f.ms);
  };
  const evaluateOnce = async (i) => {
    const r = await timedRetry(agent, `${c.url}/access/v1/evaluation`, evaluation(i));
    if (r.status !== 200 || r.headers['x-request-id'] !== `bench-${i}`) {
      throw new Error(`evaluation: ${r.status} ${r.body}`);
    }
    if (JSON.parse(r.body).decision === true) allowed++;
    const l = dur(r.headers['server-timing'], 'ledger');
    total.push(r.ms);
    ledger.push(l);
    beforeLedger.push(r.ms - l);
    decide.push(dur(r.headers['server-timing'], 'decide'));
  };
  if (values.alternate) {
    // The V8 crash check (docs/BENCHMARKS.md): one floor request, one evaluation, in turn.
    say(`${fmtInt(N)} floor requests and evaluations alternating, one at a time`);
    for (let i = 0; i < N; i++) {
      await floorOnce();
      await evaluateOnce(i);
    }
  } else {
    // Two phases on the same connection: alternating them one by one crashed the collector (a
    // V8 deoptimizer fatal error in Node 20.20.2, see docs/BENCHMARKS.md; --alternate).
    say(`${fmtInt(N)} floor requests, one at a time`);
    for (let i = 0; i < N; i++) await floorOnce();
    say(`${fmtInt(N)} evaluations, one at a time`);
    for (let i = 0; i < N; i++) await evaluateOnce(i);
  }
  say('8 connections, decisions/s including the ledger write');
  const M = quick ? 1000 : 8000;
  const start = now();
  await runConcurrently(M, 8, async (i) => {
    const r = await timedRetry(agent, `${c.url}/access/v1/evaluation`, evaluation(i));
    if (r.status !== 200) throw new Error(`evaluation: ${r.status} ${r.body}`);
  });
  const perSec = (M / msSince(start)) * 1000;
  info.loadEnd = loadavg();

  const s = {
    floor: summarize(floor),
    total: summarize(total),
    before: summarize(beforeLedger),
    decide: summarize(decide),
    ledger: summarize(ledger),
  };
  const pair = (x) => `${fmtMs(x.p50)} / ${fmtMs(x.p99)}`;
  const rows = [
    [
      'AuthZEN evaluation over HTTP before the ledger write (round trip less `ledger`), p50 / p99',
      pair(s.before),
      `${pair(s.floor)}: GET /.well-known/authzen-configuration`,
      `${(s.before.p99 / s.floor.p99).toFixed(2)}× at p99`,
      'p99 ≤ 2 ms',
      s.before.p99 <= 2 ? 'met' : 'missed',
    ],
    [
      'Server-side `decide` (parse, credential, Cedar), p50 / p99',
      pair(s.decide),
      '—',
      '—',
      'report',
      '—',
    ],
    ['Record commit (`ledger`), p50 / p99', pair(s.ledger), '—', '—', 'report', '—'],
    [
      'Whole round trip including the ledger write, p50 / p99',
      pair(s.total),
      '—',
      '—',
      'report',
      '—',
    ],
    [
      'Evaluations/s including the ledger write (8 connections)',
      `${fmtInt(perSec)}/s`,
      '—',
      '—',
      'report',
      '—',
    ],
  ];
  const table = [
    '| benchmark | measured | baseline (same run) | ratio | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(`\n${table}\n`);
  const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
  const section = `## AuthZEN evaluation (issue 17)

- date: ${info.date}
- machine: ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB RAM, Node ${info.machine.node}
- load average (1, 5, 15 min): ${load(info.loadStart)} at the start, ${load(info.loadEnd)} at the end
- command: \`node bench/authzen.js${quick ? ' --quick' : ''}${values.samples ? ` --samples ${N}` : ''}${values.alternate ? ' --alternate' : ''}\` (total ${(msSince(t0) / 60_000).toFixed(1)} min)

${table}

\`provenant serve --dev-login --policies examples/policies\` as a child process on SQLite; alice's
own credential (dev sign-in, \`repo:read\`) as the bearer; ${fmtInt(N)} \`POST /access/v1/evaluation\`
requests one at a time on one keep-alive connection (after ${WARM} to warm up), three reads of
\`repo:acme/payments\` (allowed) to one delete (denied: ${fmtInt(allowed)} allowed), each with its own
\`X-Request-ID\`, ${values.alternate ? 'each after one floor request' : 'after as many floor requests'} on the same connection. Every answer comes after its
\`policy.decision\` record and the decision's policy-store row are durable; the route's \`Server-Timing\`
gives \`decide\` (parse, credential, Cedar) and \`ledger\` (the two writes, side by side: the record's
commit and the decision's row, group-committed, both in the ledger's SQLite file), and "before the
ledger write" is the client's round trip less \`ledger\`. Connections reset by the server and sent
again: ${resets}.

Notes. The machine was shared with other agents' nice-19 builds and tests (load above).
Rerun on a quiet machine: \`node bench/run.js --only authzen\`.`;
  if (!values['no-write']) console.log(`recorded in ${writeSection('authzen', section)}`);
} catch (e) {
  console.error(`collector stderr: ${c.stderr().slice(-2000)}`);
  console.error(`collector exit: ${c.child.exitCode ?? c.child.signalCode ?? 'running'}`);
  throw e;
} finally {
  await c.stop();
  removeDir(dir);
}
