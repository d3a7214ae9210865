#!/usr/bin/env node
// Benchmarks of issues 3 and 4, each beside its baseline in the same run:
//   1. ingest with verified attribution (100 distinct credentials) vs the same load with none;
//   2. token exchange (RFC 8693) throughput and latency, with the per-grant ledger write;
//   3. policy decision latency, embedded Cedar with 200 policies, before the ledger write;
//   4. decisions/s over HTTP including the decision point's ledger write;
//   5. refusing a 1 MB credential (by its length, before any parsing) vs one hash of it.
//
//   node bench/identity-policy.js [--quick] [--no-write]
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CredentialVerifier, MemoryPrincipalDirectory } from '@provenant/identity';
import { CedarEngine, DecisionPoint } from '@provenant/policy';
import { agentKey } from './lib/agent.js';
import { delegatedRecords } from './lib/records.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import {
  CLI,
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

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
  },
});
const quick = values.quick;
const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);

async function serve(dataDir, extra = []) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      'serve',
      '--data',
      dataDir,
      '--port',
      '0',
      '--log-level',
      'error',
      '--dev-login',
      ...extra,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT, env: { ...process.env } },
  );
  const url = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`collector exited ${code}`)));
  });
  child.stdout.resume();
  child.stderr.resume();
  return {
    url,
    admin: readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(),
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve);
        child.kill('SIGTERM');
      }),
  };
}

const form = (o) => new URLSearchParams(o).toString();

async function admin(agent, c, path, body) {
  const r = await send(agent, `${c.url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json', authorization: `Bearer ${c.admin}` },
  });
  if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.body}`);
}

async function token(agent, c, fields) {
  const r = await send(agent, `${c.url}/v1/token`, {
    method: 'POST',
    body: form(fields),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  if (r.status !== 200) throw new Error(`token: ${r.status} ${r.body}`);
  return JSON.parse(r.body).access_token;
}

// 1 and 2: one collector, 100 users, one agent instance; credentials by token exchange.
async function identityBenches() {
  const dir = tempDir('identity');
  const c = await serve(dir);
  const http = keepAliveAgent(8);
  const out = {};
  try {
    const actor = 'spiffe://acme.test/agent/researcher/instance/bench';
    const key = await agentKey(actor);
    await admin(http, c, '/v1/principals', {
      id: actor,
      kind: 'agent_instance',
      agent: 'researcher',
      publicJwks: [key.jwk],
      shared: false,
      disabled: false,
    });
    const meta = JSON.parse(
      (await send(http, `${c.url}/.well-known/oauth-authorization-server`)).body,
    );
    const users = Array.from({ length: 100 }, (_, i) => `user:bench-${i}`);
    const creds = [];
    for (const u of users) {
      await admin(http, c, '/v1/principals', {
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
      creds.push(
        await token(http, c, {
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          subject_token: human,
          subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
          actor_token: await key.assertion(meta.token_endpoint),
          actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        }),
      );
    }
    // 1. Ingest: the same records with and without credentials, alternating rounds.
    const batches = quick ? 40 : 200;
    const pad = 'x'.repeat(520);
    const run = async (withCredential) => {
      const bodies = Array.from({ length: batches }, (_, b) => ({
        body: JSON.stringify(delegatedRecords(500, users[b % 100], actor, pad)),
        auth: withCredential ? `Bearer ${creds[b % 100]}` : undefined,
      }));
      const start = now();
      await runConcurrently(batches, 4, async (b) => {
        const { body, auth } = bodies[b];
        const r = await send(http, `${c.url}/v1/events`, {
          method: 'POST',
          body,
          headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        });
        const a = JSON.parse(r.body);
        if (r.status !== 200 || a.accepted.length !== 500)
          throw new Error(`ingest ${r.status} ${r.body.slice(0, 300)}`);
        const level = a.accepted[0].attribution.level;
        if (level !== (withCredential ? 'verified' : 'asserted')) throw new Error(`level ${level}`);
      });
      return (batches * 500) / (msSince(start) / 1000);
    };
    await run(true); // warm-up: caches, JIT
    const verified = [];
    const bare = [];
    for (let round = 0; round < 2; round++) {
      bare.push(await run(false));
      verified.push(await run(true));
    }
    out.ingest = {
      verified: Math.max(...verified),
      bare: Math.max(...bare),
      records: batches * 500,
      rounds: 2,
    };
    say(
      `  ingest: verified ${fmtInt(out.ingest.verified)}/s, no credential ${fmtInt(out.ingest.bare)}/s`,
    );

    // 2. Token exchange: pre-signed assertions, one subject credential per user.
    const humans = [];
    for (const u of users.slice(0, 20)) {
      humans.push(
        await token(http, c, {
          grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
          username: u.slice(5),
          scope: 'repo:read',
        }),
      );
    }
    const count = quick ? 300 : 2000;
    const assertions = [];
    for (let i = 0; i < count; i++) assertions.push(await key.assertion(meta.token_endpoint));
    const exchange = async (i) => {
      const s = now();
      await token(http, c, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: humans[i % humans.length],
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        actor_token: assertions[i],
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
        scope: 'repo:read',
      });
      return msSince(s);
    };
    const serial = [];
    for (let i = 0; i < count / 2; i++) serial.push(await exchange(i));
    const start = now();
    await runConcurrently(count / 2, 4, (i) => exchange(count / 2 + i));
    out.exchange = {
      latency: summarize(serial),
      perSec: count / 2 / (msSince(start) / 1000),
      count,
    };
    say(
      `  token exchange: p50 ${fmtMs(out.exchange.latency.p50)}, p99 ${fmtMs(out.exchange.latency.p99)}, ${fmtInt(out.exchange.perSec)}/s with 4 connections`,
    );
  } finally {
    http.destroy();
    await c.stop();
    removeDir(dir);
  }
  return out;
}

/** 200 generated policies over a shared schema, like a real deployment's. */
function policyFolder(dir) {
  mkdirSync(dir, { recursive: true });
  const policies = [];
  for (let i = 0; i < 200; i++) {
    const effect = i % 10 === 9 ? 'forbid' : 'permit';
    policies.push(
      `@id("p${i}")\n${effect} (principal, action == Provenant::Action::"tool.op${i % 40}", resource)\n` +
        `when { resource.name like "repo:team${i % 25}/*" && context.scopes.contains("scope:${i % 13}") && context.delegation_depth <= ${1 + (i % 4)} };\n`,
    );
  }
  writeFileSync(join(dir, 'policies.cedar'), policies.join('\n'));
  return dir;
}

async function policyBenches() {
  const dir = tempDir('policy');
  const folder = policyFolder(join(dir, 'policies'));
  const out = {};
  try {
    // 3. Embedded Cedar: the decision point alone, no ledger write.
    const { readPolicyFolder } = await import('@provenant/policy');
    const point = new DecisionPoint({ engine: new CedarEngine() });
    await point.load(readPolicyFolder(folder));
    const directory = new MemoryPrincipalDirectory();
    const actor = 'spiffe://acme.test/agent/researcher/instance/bench';
    directory.put({
      id: actor,
      kind: 'agent_instance',
      agent: 'researcher',
      shared: false,
      disabled: false,
    });
    directory.put({ id: 'user:alice', kind: 'human', shared: false, disabled: false });
    const t = Math.floor(Date.now() / 1000);
    const credential = {
      tokenDigest: 'bench',
      claims: {
        iss: 'bench',
        sub: 'user:alice',
        aud: 'provenant',
        iat: t,
        exp: t + 300,
        jti: 'bench',
        scope: 'scope:1 scope:2',
      },
      subject: 'user:alice',
      actors: [actor],
      chain: ['user:alice', actor],
      scope: ['scope:1', 'scope:2'],
      jti: 'bench',
      iat: t,
      exp: t + 300,
      ancestors: [],
    };
    const action = (i) => ({
      name: `tool.op${i % 40}`,
      resource: `repo:team${i % 25}/x`,
      risk: 'low',
    });
    for (let i = 0; i < 2000; i++) await point.decide(credential, action(i), directory);
    const samples = [];
    const n = quick ? 5000 : 20000;
    let allowed = 0;
    for (let i = 0; i < n; i++) {
      const s = now();
      const d = await point.decide(credential, action(i), directory);
      samples.push(msSince(s));
      if (d.decision === 'allow') allowed++;
    }
    out.embedded = { latency: summarize(samples), n, allowed };
    say(
      `  embedded Cedar, 200 policies: p50 ${fmtMs(out.embedded.latency.p50)}, p99 ${fmtMs(out.embedded.latency.p99)} (${allowed} of ${n} allowed)`,
    );

    // 4. Over HTTP with the decision point's ledger write (durable before the answer).
    const c = await serve(join(dir, 'data'), ['--policies', folder]);
    const http = keepAliveAgent(8);
    try {
      const key = await agentKey(actor);
      await admin(http, c, '/v1/principals', {
        id: actor,
        kind: 'agent_instance',
        agent: 'researcher',
        publicJwks: [key.jwk],
        shared: false,
        disabled: false,
      });
      await admin(http, c, '/v1/principals', {
        id: 'user:alice',
        kind: 'human',
        shared: false,
        disabled: false,
      });
      const meta = JSON.parse(
        (await send(http, `${c.url}/.well-known/oauth-authorization-server`)).body,
      );
      const human = await token(http, c, {
        grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
        username: 'alice',
        scope: 'scope:1 scope:2',
      });
      const cred = await token(http, c, {
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: human,
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        actor_token: await key.assertion(meta.token_endpoint),
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      });
      const decide = async (i) => {
        const r = await send(http, `${c.url}/v1/decisions`, {
          method: 'POST',
          body: JSON.stringify({ action: action(i) }),
          headers: { 'content-type': 'application/json', authorization: `Bearer ${cred}` },
        });
        if (r.status !== 200) throw new Error(`decision ${r.status} ${r.body}`);
      };
      await runConcurrently(500, 4, decide);
      const count = quick ? 2000 : 10000;
      const start = now();
      await runConcurrently(count, 8, decide);
      out.http = { perSec: count / (msSince(start) / 1000), count };
      say(`  decisions over HTTP with the ledger write: ${fmtInt(out.http.perSec)}/s`);
    } finally {
      http.destroy();
      await c.stop();
    }
  } finally {
    removeDir(dir);
  }
  return out;
}

/**
 * Mean cost of refusing a 1 MB credential (token_too_large) and, alternating in the same run,
 * of one SHA-256 of the same token: the work the length check saves. The test suite proves the
 * refusal does no parsing (packages/identity/test/attacks.test.ts); this measures what it costs.
 */
async function oversizedTokenBench() {
  const verifier = new CredentialVerifier({
    issuers: [],
    audience: 'bench',
    revocations: { isRevoked: () => false },
  });
  const part = (n) => 'A'.repeat(n);
  const token = `${part(40)}.${part(1_048_576)}.${part(86)}`;
  const n = quick ? 1_000 : 10_000;
  let refusals = 0;
  let hashes = 0;
  for (let round = 0; round < 4; round++) {
    let start = now();
    for (let i = 0; i < n; i++) {
      await verifier.verify(token).catch((e) => {
        if (e.code !== 'token_too_large') throw e;
      });
    }
    refusals += msSince(start);
    start = now();
    for (let i = 0; i < n / 100; i++) createHash('sha256').update(token).digest();
    hashes += msSince(start) * 100;
  }
  return { refusalUs: (refusals * 1000) / (4 * n), hashUs: (hashes * 1000) / (4 * n), n };
}

const info = { date: new Date().toUTCString(), machine: machine() };
say(`${info.date}; ${info.machine.nproc} × ${info.machine.model}, node ${info.machine.node}`);
say('identity: ingest with and without credentials, token exchange');
const id = await identityBenches();
say('policy: embedded Cedar and HTTP decisions');
const pol = await policyBenches();
say('identity: refusing an oversized credential');
const big = await oversizedTokenBench();
const ratio = id.ingest.verified / id.ingest.bare;
const rows = [
  [
    'Ingest with verified attribution (100 credentials, 500-record batches)',
    `${fmtInt(id.ingest.verified)} records/s`,
    `${fmtInt(id.ingest.bare)} records/s, same records, no credential`,
    `${ratio.toFixed(2)}×`,
    '≥ 0.8×',
    ratio >= 0.8 ? 'met' : 'missed',
  ],
  [
    'Token exchange (RFC 8693) with its ledger write, one at a time, p50 / p99',
    `${fmtMs(id.exchange.latency.p50)} / ${fmtMs(id.exchange.latency.p99)}`,
    '—',
    '—',
    'report',
    '—',
  ],
  [
    'Token exchange throughput, 4 connections',
    `${fmtInt(id.exchange.perSec)} exchanges/s`,
    '—',
    '—',
    'report',
    '—',
  ],
  [
    'Decision latency, embedded Cedar, 200 policies, before the ledger write, p50 / p99',
    `${fmtMs(pol.embedded.latency.p50)} / ${fmtMs(pol.embedded.latency.p99)}`,
    '—',
    '—',
    'p99 ≤ 1 ms',
    pol.embedded.latency.p99 <= 1 ? 'met' : 'missed',
  ],
  [
    'Decisions/s over HTTP including the ledger write (8 connections)',
    `${fmtInt(pol.http.perSec)} decisions/s`,
    '—',
    '—',
    'report',
    '—',
  ],
  [
    'Refusing a 1 MB credential (token_too_large), mean per refusal',
    `${big.refusalUs.toFixed(2)} µs`,
    `${big.hashUs.toFixed(0)} µs: one SHA-256 of the same token`,
    `${(big.refusalUs / big.hashUs).toFixed(4)}×`,
    '< 100 µs',
    big.refusalUs < 100 ? 'met' : 'missed',
  ],
];
const table = [
  '| benchmark | measured | baseline (same run) | ratio | target | result |',
  '| --- | --- | --- | --- | --- | --- |',
  ...rows.map((r) => `| ${r.join(' | ')} |`),
].join('\n');
console.log(`\n${table}\n`);
const section = `## Identity and policy (issues 3 and 4)

- date: ${info.date}
- machine: ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB RAM, Node ${info.machine.node}
- command: \`node bench/identity-policy.js${quick ? ' --quick' : ''}\` (total ${(msSince(t0) / 60_000).toFixed(1)} min)

${table}

Ingest: ${fmtInt(id.ingest.records)} records per round (${id.ingest.records / 500} requests of 500, 4 keep-alive connections) to \`provenant serve\` as a child process; the credentialed rounds use 100 distinct credentials (100 users, each delegated by token exchange to one agent instance), one per request, so each credential's signature is checked once and then served from the verified-token cache; records are not privileged, so no decision is required. Rounds alternate (no credential, then credential), best of ${id.ingest.rounds} each. Token exchange: the subject credential of one of 20 users plus a pre-signed client assertion of the agent instance, form-encoded; each answer comes after the \`delegation.granted\` record is durable. Embedded Cedar: \`DecisionPoint.decide\` (request built from the credential, 200 generated policies with \`like\`, set membership and depth conditions, Cedar ${new CedarEngine().version}) timed one call at a time in-process over ${fmtInt(pol.embedded.n)} calls. HTTP decisions: \`POST /v1/decisions\` with the same policy set, each answered after its \`policy.decision\` record is durable (group commit). Oversized credential: \`CredentialVerifier.verify\` on a 1 MiB three-part token, ${fmtInt(big.n)} refusals per round alternating with SHA-256 of the same token, 4 rounds.`;
if (!values['no-write']) console.log(`recorded in ${writeSection('identity-policy', section)}`);
