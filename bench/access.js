#!/usr/bin/env node
// Access control (issue 19): verified ingest with roles checked, beside today's verified ingest
// in the same run. Two `provenant serve` child processes, one built from this tree (the access
// hook verifies the credential and checks the route's role before the body is read) and one from
// a baseline tree built from the commit before it; the same workload alternates between them.
// Target: this tree ≥ 0.95× the baseline.
//
//   node bench/access.js [--quick] [--no-write] [--baseline DIR] [--rounds N]
//
// --baseline DIR (or PROVENANT_BENCH_BASELINE=DIR): a checkout of the baseline commit with
// `npx tsc -b` run in it, e.g.
//   git worktree add /tmp/prov-baseline dd8f631 && cp -a node_modules /tmp/prov-baseline/ &&
//   (cd /tmp/prov-baseline && npx tsc -b)
// Without it only this tree is measured and the comparison is reported as skipped.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { agentKey } from './lib/agent.js';
import { delegatedRecords } from './lib/records.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import {
  CLI,
  ROOT,
  fmtInt,
  machine,
  msSince,
  now,
  procCpu,
  removeDir,
  startCollector,
  tempDir,
  writeSection,
} from './lib/util.js';

const TARGET_RATIO = 0.95;
const BATCH = 500;
const CONNECTIONS = 4;
const USERS = 100;

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    baseline: { type: 'string' },
    rounds: { type: 'string' },
  },
  strict: true,
});
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 4 : 24));
const batchesPerRound = 10;
const WARMUP_ROUNDS = 3;
const baselineDir = values.baseline ?? process.env.PROVENANT_BENCH_BASELINE;
const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

const ACTOR = 'spiffe://acme.test/agent/researcher/instance/bench';
const form = (o) => new URLSearchParams(o).toString();

function gitHead(dir) {
  try {
    return execFileSync('git', ['-C', dir, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
  } catch {
    return 'unknown';
  }
}

async function post(agent, url, body, headers) {
  return send(agent, url, { method: 'POST', body, headers });
}

async function asAdmin(agent, c, path, body) {
  const r = await post(agent, `${c.url}${path}`, JSON.stringify(body), {
    'content-type': 'application/json',
    authorization: `Bearer ${c.admin}`,
  });
  if (r.status >= 300) throw new Error(`${c.label} ${path}: ${r.status} ${r.body}`);
}

async function token(agent, c, fields) {
  const r = await post(agent, `${c.url}/v1/token`, form(fields), {
    'content-type': 'application/x-www-form-urlencoded',
  });
  if (r.status !== 200) throw new Error(`${c.label} token: ${r.status} ${r.body}`);
  return JSON.parse(r.body).access_token;
}

/**
 * One collector from the build whose CLI is `cli`, set up identically: the agent instance
 * registered and granted `producer` (the role the access hook checks on POST /v1/events), 100
 * users, and one credential per user delegated to the agent instance by token exchange.
 */
async function collector(label, cli, http) {
  const dir = tempDir(`access-${label}`);
  const proc = await startCollector(dir, { cli, args: ['--dev-login'] });
  const c = {
    label,
    dir,
    url: proc.url,
    proc,
    admin: readFileSync(join(dir, 'admin.token'), 'utf8').trim(),
  };
  const key = await agentKey(ACTOR);
  await asAdmin(http, c, '/v1/principals', {
    id: ACTOR,
    kind: 'agent_instance',
    agent: 'researcher',
    publicJwks: [key.jwk],
    shared: false,
    disabled: false,
  });
  await asAdmin(http, c, '/v1/principals/roles/grant', { id: ACTOR, role: 'producer' });
  const meta = JSON.parse(
    (await send(http, `${c.url}/.well-known/oauth-authorization-server`)).body,
  );
  c.users = Array.from({ length: USERS }, (_, i) => `user:bench-${i}`);
  c.creds = [];
  for (const u of c.users) {
    await asAdmin(http, c, '/v1/principals', {
      id: u,
      kind: 'human',
      shared: false,
      disabled: false,
    });
    const human = await token(http, c, {
      grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
      username: u.slice(5),
      scope: 'repo:read',
    });
    c.creds.push(
      await token(http, c, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: human,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        actor_token: await key.assertion(meta.token_endpoint),
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      }),
    );
  }
  // The users' own credentials carry no producer role: on a build that checks roles, posting
  // with one is refused (403) before the body is read. Recorded, so the table says which build
  // checked roles.
  const human = await token(http, c, {
    grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
    username: 'bench-0',
    scope: 'repo:read',
  });
  // The user acts as itself in this record, so a build that checks no role accepts it (200).
  const own = {
    ...delegatedRecords(1, c.users[0], ACTOR, '')[0],
    actor: { id: c.users[0], kind: 'human' },
  };
  const probe = await post(http, `${c.url}/v1/events`, JSON.stringify([own]), {
    'content-type': 'application/json',
    authorization: `Bearer ${human}`,
  });
  c.roleless = probe.status;
  if (probe.status !== 200 && probe.status !== 403) {
    throw new Error(`${label} role-less probe: ${probe.status} ${probe.body.slice(0, 300)}`);
  }
  return c;
}

/**
 * One round: `batchesPerRound` requests of 500 records, one credential each, 4 connections.
 * Returns its records/s and the collector's CPU seconds spent in it.
 */
async function round(http, c) {
  const pad = 'x'.repeat(520);
  const bodies = Array.from({ length: batchesPerRound }, (_, b) => ({
    body: JSON.stringify(delegatedRecords(BATCH, c.users[b % USERS], ACTOR, pad)),
    auth: `Bearer ${c.creds[b % USERS]}`,
  }));
  const cpu0 = procCpu(c.proc.pid);
  const start = now();
  await runConcurrently(batchesPerRound, CONNECTIONS, async (b) => {
    const r = await post(http, `${c.url}/v1/events`, bodies[b].body, {
      'content-type': 'application/json',
      authorization: bodies[b].auth,
    });
    if (r.status !== 200) throw new Error(`${c.label} ingest ${r.status} ${r.body.slice(0, 300)}`);
    const a = JSON.parse(r.body);
    if (a.accepted.length !== BATCH) throw new Error(`${c.label}: ${a.accepted.length} accepted`);
    const level = a.accepted[0].attribution.level;
    if (level !== 'verified') throw new Error(`${c.label}: attribution ${level}`);
  });
  const ms = msSince(start);
  const cpu1 = procCpu(c.proc.pid);
  return {
    rate: (batchesPerRound * BATCH) / (ms / 1000),
    ms,
    cpuS: cpu1.user + cpu1.system - cpu0.user - cpu0.system,
  };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

const info = { date: new Date().toUTCString(), machine: machine(), loadStart: loadavg() };
say(`${info.date}; ${info.machine.nproc} × ${info.machine.model}, node ${info.machine.node}`);
say(`load average before: ${info.loadStart.map((l) => l.toFixed(2)).join(', ')}`);
const baselineCli = baselineDir
  ? join(resolve(baselineDir), 'packages', 'cli', 'dist', 'bin', 'provenant.js')
  : undefined;
if (baselineCli && !existsSync(baselineCli)) {
  console.error(`--baseline: no ${baselineCli} (run npx tsc -b in ${baselineDir})`);
  process.exit(2);
}
if (!baselineCli) {
  say('no --baseline / PROVENANT_BENCH_BASELINE: measuring this tree only, comparison skipped');
}

const http = keepAliveAgent(CONNECTIONS * 2);
const sides = [];
let result;
try {
  sides.push(await collector('current', CLI, http));
  if (baselineCli) sides.push(await collector('baseline', baselineCli, http));
  for (const c of sides) {
    c.commit = gitHead(c.label === 'current' ? ROOT : baselineDir);
    c.rounds = [];
    say(`${c.label} (${c.commit}): role-less credential on POST /v1/events → ${c.roleless}`);
    for (let w = 0; w < WARMUP_ROUNDS; w++) await round(http, c); // caches, JIT
  }
  for (let r = 0; r < rounds; r++) {
    // Alternate which side goes first, so drift in the machine's load falls on both.
    const order = r % 2 === 0 ? sides : [...sides].reverse();
    for (const c of order) c.rounds.push(await round(http, c));
    if ((r + 1) % 6 === 0 || r + 1 === rounds) {
      say(
        `  round ${r + 1}: ${sides.map((c) => `${c.label} ${fmtInt(c.rounds.at(-1).rate)}/s`).join(', ')}; load ${loadavg()[0].toFixed(2)}`,
      );
    }
  }
  result = sides.map((c) => {
    const ms = c.rounds.reduce((t, x) => t + x.ms, 0);
    const cpuS = c.rounds.reduce((t, x) => t + x.cpuS, 0);
    const n = c.rounds.length * batchesPerRound * BATCH;
    return {
      label: c.label,
      commit: c.commit,
      roleless: c.roleless,
      rates: c.rounds.map((x) => x.rate),
      overall: n / (ms / 1000),
      median: median(c.rounds.map((x) => x.rate)),
      cpuUsPerRecord: (cpuS * 1e6) / n,
      records: n,
    };
  });
} finally {
  http.destroy();
  for (const c of sides) {
    await c.proc.stop();
    removeDir(c.dir);
  }
}
info.loadEnd = loadavg();
const [cur, base] = result;
// The target is judged on all measured rounds together (records over wall time, per side).
const ratio = base ? cur.overall / base.overall : undefined;
// Each round's two rates were taken back to back, so their ratio sees nearly the same load.
const pairedRatio = base ? median(cur.rates.map((r, i) => r / base.rates[i])) : undefined;
// Collector CPU per record: the cost itself, less swayed by other processes than wall time.
const cpuRatio = base ? base.cpuUsPerRecord / cur.cpuUsPerRecord : undefined;
const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
const side = (s) =>
  `${fmtInt(s.overall)} records/s (round median ${fmtInt(s.median)}); collector CPU ${s.cpuUsPerRecord.toFixed(1)} µs/record`;
const rows = [
  [
    `Verified ingest with roles checked (this tree ${cur.commit}: role-less credential → ${cur.roleless})`,
    side(cur),
    base
      ? `${side(base)}: baseline ${base.commit} (role-less credential → ${base.roleless})`
      : 'skipped: no --baseline / PROVENANT_BENCH_BASELINE',
    base
      ? `${ratio.toFixed(2)}× (median per-round ratio ${pairedRatio.toFixed(2)}×; CPU per record ${cpuRatio.toFixed(2)}×)`
      : '—',
    `≥ ${TARGET_RATIO}×`,
    base ? (ratio >= TARGET_RATIO ? 'met' : 'missed') : 'not measured',
  ],
];
const table = [
  '| benchmark | measured | baseline (same run) | ratio | target | result |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(`\n${table}\n`);
for (const s of result) say(`${s.label} rounds: ${s.rates.map(fmtInt).join(', ')} records/s`);
say(`load average after: ${load(info.loadEnd)}`);
const command = [
  ...(baselineDir ? [`PROVENANT_BENCH_BASELINE=${baselineDir}`] : []),
  'node bench/access.js',
  ...process.argv.slice(2),
].join(' ');
const section = `## Access control: verified ingest with roles checked (issue 19)

- date: ${info.date}
- machine: ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB RAM, Node ${info.machine.node}; shared with other helpers' work: load average (1, 5, 15 min) ${load(info.loadStart)} before, ${load(info.loadEnd)} after
- command: \`${command}\` (total ${(msSince(t0) / 60_000).toFixed(1)} min)

${table}

Two \`provenant serve --dev-login\` child processes run side by side: one built from this tree, in which an onRequest hook verifies the credential and checks the route's role (\`producer\` for \`POST /v1/events\`) before the body is read and ingest reuses that verified credential; and one built from the baseline commit, which verifies the credential in ingest and checks no role. Each is set up the same way: one agent instance registered and granted \`producer\` by the admin token, 100 users, and one credential per user delegated to the agent instance by token exchange (on this tree the credential carries the agent instance's \`producer\` role). A round is ${fmtInt(batchesPerRound * BATCH)} records (${batchesPerRound} requests of ${BATCH} ~1.1 KB records, one credential per request, ${CONNECTIONS} keep-alive connections), each record answered \`verified\`. After ${WARMUP_ROUNDS} warm-up rounds each, ${rounds} short rounds alternate between the two collectors, the first of each pair switching every round, so a change in the machine's load falls on both. Ratio: this tree's records over wall time across all its measured rounds, divided by the baseline's; also shown, the median of the ${rounds} per-round ratios (two rounds run back to back) and the baseline's collector CPU seconds per record (user + system, from /proc) over this tree's, a cost less swayed by other processes. Rounds (records/s): ${result.map((s) => `${s.label} ${s.rates.map(fmtInt).join(', ')}`).join('; ')}. The role-less probe posts one record in which a user acts as itself, with that user's own credential (no \`producer\` role): 403 means the build refused it by role, 200 that it checked none.`;
if (!values['no-write']) console.log(`recorded in ${writeSection('access', section)}`);
