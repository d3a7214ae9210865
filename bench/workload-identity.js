#!/usr/bin/env node
// Issue 17, items 1 and 2: verified ingest with a JWT-SVID-derived credential, and with a
// Txn-Token header, beside verified ingest with a Provenant credential, in the same run against
// one `provenant serve` child process (SQLite). Target: each ≥ 0.9× the baseline.
//
//   baseline  alice's credential exchanged to an agent instance that authenticated with its
//             registered key (private_key_jwt actor token)
//   svid      alice's credential exchanged to an agent instance that authenticated with a SPIFFE
//             JWT-SVID (actor token) verified against the trust bundle (--spiffe-bundle), its id
//             admitted by --spiffe-path
//   txn       the baseline credential, and a Txn-Token of the collector (--txn-trust-domain) in
//             the Txn-Token header of every request: verified, its txn recorded in `correlation`
//
// The three alternate round by round (same load for each); each round is 10 requests of 100
// records on 4 keep-alive connections.
//
//   node bench/workload-identity.js [--quick] [--no-write] [--rounds N] [--cpu-prof DIR]
//
// --cpu-prof DIR: a V8 CPU profile of the collector into DIR (bench/profile-summary.js FILE).
import { generateKeyPairSync } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { SignJWT } from 'jose';
import { agentKey } from './lib/agent.js';
import { delegatedRecords } from './lib/records.js';
import { keepAliveAgent, runConcurrently, send } from './lib/http.js';
import {
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

const TARGET_RATIO = 0.9;
const BATCH = 100;
const BATCHES = 10;
const CONNECTIONS = 4;
const TD = 'acme.test';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-write': { type: 'boolean', default: false },
    rounds: { type: 'string' },
    'cpu-prof': { type: 'string' },
  },
  strict: true,
});
const quick = values.quick;
const rounds = Number(values.rounds ?? (quick ? 4 : 20));
const WARMUP = 2;
const t0 = now();
const say = (line) => console.log(`[${(msSince(t0) / 1000).toFixed(0).padStart(4)} s] ${line}`);
const form = (o) => new URLSearchParams(o).toString();

const KEYED = `spiffe://${TD}/agent/researcher/instance/keyed`;
const SVID_ACTOR = `spiffe://${TD}/agent/researcher/instance/svid`;

const info = { date: new Date().toISOString(), machine: machine(), loadStart: loadavg() };
const dir = tempDir('workload-identity');
// The trust bundle of acme.test, in its JWKS form, as SPIRE publishes it.
const spire = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const bundleFile = join(dir, 'bundle.json');
writeFileSync(
  bundleFile,
  JSON.stringify({
    keys: [{ ...spire.publicKey.export({ format: 'jwk' }), kid: 'spire-bench', use: 'jwt-svid' }],
  }),
);
const profileDir = values['cpu-prof'] === undefined ? undefined : resolve(values['cpu-prof']);
if (profileDir !== undefined) mkdirSync(profileDir, { recursive: true });
const c = await startCollector(join(dir, 'data'), {
  ...(profileDir === undefined ? {} : { nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] }),
  args: [
    '--dev-login',
    '--spiffe-bundle',
    `${TD}=${bundleFile}`,
    '--spiffe-path',
    `${TD}=/agent/*/instance/*`,
    '--txn-trust-domain',
    TD,
  ],
});
const http = keepAliveAgent(CONNECTIONS);
const post = (path, body, headers) =>
  send(http, `${c.url}${path}`, { method: 'POST', body, headers });
try {
  const admin = readFileSync(join(dir, 'data', 'admin.token'), 'utf8').trim();
  const asAdmin = async (path, body) => {
    const r = await post(path, JSON.stringify(body), {
      'content-type': 'application/json',
      authorization: `Bearer ${admin}`,
    });
    if (r.status >= 300) throw new Error(`${path}: ${r.status} ${r.body}`);
  };
  const token = async (fields) => {
    const r = await post('/v1/token', form(fields), {
      'content-type': 'application/x-www-form-urlencoded',
    });
    if (r.status !== 200) throw new Error(`token: ${r.status} ${r.body}`);
    return JSON.parse(r.body).access_token;
  };
  const meta = JSON.parse(
    (await send(http, `${c.url}/.well-known/oauth-authorization-server`)).body,
  );
  const key = await agentKey(KEYED);
  await asAdmin('/v1/principals', {
    id: KEYED,
    kind: 'agent_instance',
    agent: 'researcher',
    publicJwks: [key.jwk],
    shared: false,
    disabled: false,
  });
  await asAdmin('/v1/principals', {
    id: 'user:alice',
    kind: 'human',
    shared: false,
    disabled: false,
  });

  /** Fresh credentials for the three variants (a Txn-Token lives 5 minutes at most). */
  const credentials = async () => {
    const human = () =>
      token({
        grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
        username: 'alice',
        scope: 'repo:read',
      });
    const exchange = async (actorToken) =>
      token({
        grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
        subject_token: await human(),
        subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
        actor_token: actorToken,
        actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      });
    const baseline = await exchange(await key.assertion(meta.token_endpoint));
    const t = Math.floor(Date.now() / 1000);
    const svid = await new SignJWT({ sub: SVID_ACTOR, aud: meta.issuer, iat: t, exp: t + 300 })
      .setProtectedHeader({ alg: 'ES256', kid: 'spire-bench', typ: 'JWT' })
      .sign(spire.privateKey);
    const svidCredential = await exchange(svid);
    const txnToken = await token({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      requested_token_type: 'urn:ietf:params:oauth:token-type:txn_token',
      audience: TD,
      scope: 'repo:read',
      subject_token: baseline,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await key.assertion(meta.token_endpoint),
      request_details: JSON.stringify({ repo: 'acme/r1', action: 'read' }),
    });
    return {
      baseline: { actor: KEYED, headers: { authorization: `Bearer ${baseline}` } },
      svid: { actor: SVID_ACTOR, headers: { authorization: `Bearer ${svidCredential}` } },
      txn: {
        actor: KEYED,
        headers: { authorization: `Bearer ${baseline}`, 'txn-token': txnToken },
        txn: true,
      },
    };
  };

  const pad = 'x'.repeat(520);
  /** One round of one variant: its records/s and the collector's CPU seconds. */
  const round = async (v) => {
    const batches = Array.from({ length: BATCHES }, () =>
      delegatedRecords(BATCH, 'user:alice', v.actor, pad),
    );
    if (v.txn) txnRecord = batches[0][0].id;
    const bodies = batches.map((b) => JSON.stringify(b));
    const cpu0 = procCpu(c.pid);
    const start = now();
    await runConcurrently(BATCHES, CONNECTIONS, async (b) => {
      const r = await post('/v1/events', bodies[b], {
        'content-type': 'application/json',
        ...v.headers,
      });
      if (r.status !== 200) throw new Error(`ingest ${r.status} ${r.body.slice(0, 300)}`);
      const a = JSON.parse(r.body);
      if (a.accepted.length !== BATCH) throw new Error(`${a.accepted.length} accepted`);
      if (a.accepted[0].attribution.level !== 'verified') throw new Error('not verified');
    });
    const ms = msSince(start);
    const cpu1 = procCpu(c.pid);
    return {
      rate: (BATCHES * BATCH) / (ms / 1000),
      cpuS: cpu1.user + cpu1.system - cpu0.user - cpu0.system,
    };
  };

  let txnRecord;
  const names = ['baseline', 'svid', 'txn'];
  const results = { baseline: [], svid: [], txn: [] };
  let creds = await credentials();
  let credsAt = Date.now();
  say(
    `${WARMUP} warm-up rounds, then ${rounds} rounds of ${BATCHES} × ${BATCH} records per variant`,
  );
  for (let i = 0; i < WARMUP + rounds; i++) {
    if (Date.now() - credsAt > 120_000) {
      creds = await credentials();
      credsAt = Date.now();
    }
    // Rotate the order so no variant always runs first after a refresh.
    for (let k = 0; k < names.length; k++) {
      const name = names[(i + k) % names.length];
      const r = await round(creds[name]);
      if (i >= WARMUP) results[name].push(r);
    }
  }
  // The Txn-Token variant's records carry its txn (and never the token).
  const kept = await send(http, `${c.url}/v1/events/${txnRecord}`, {
    headers: { authorization: `Bearer ${admin}` },
  });
  if (!JSON.parse(kept.body).correlation?.txn) throw new Error('a Txn-Token record has no txn');
  info.loadEnd = loadavg();

  const median = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return s[Math.floor(s.length / 2)];
  };
  const rate = (n) => median(results[n].map((r) => r.rate));
  const cpuPerK = (n) =>
    (results[n].reduce((t, r) => t + r.cpuS, 0) / (results[n].length * BATCHES * BATCH)) * 1e6;
  const base = rate('baseline');
  const row = (label, n) => {
    const ratio = rate(n) / base;
    return [
      label,
      `${fmtInt(rate(n))} records/s (CPU ${cpuPerK(n).toFixed(0)} µs/record)`,
      `${fmtInt(base)} records/s (CPU ${cpuPerK('baseline').toFixed(0)} µs/record)`,
      `${ratio.toFixed(2)}×`,
      `≥ ${TARGET_RATIO}×`,
      ratio >= TARGET_RATIO ? 'met' : 'missed',
    ];
  };
  const rows = [
    row(
      'Verified ingest, credential of an SVID-authenticated actor (JWT-SVID actor token)',
      'svid',
    ),
    row('Verified ingest with a Txn-Token header (verified, txn recorded)', 'txn'),
  ];
  const table = [
    '| benchmark | measured (median round) | baseline: Provenant credential (same run) | ratio | target | result |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
  console.log(`\n${table}\n`);
  const load = (l) => l.map((x) => x.toFixed(2)).join(', ');
  const section = `## Workload identity and Transaction Tokens (issue 17)

- date: ${info.date}
- machine: ${info.machine.nproc} × ${info.machine.model}, ${info.machine.ramGiB.toFixed(1)} GiB RAM, Node ${info.machine.node}
- load average (1, 5, 15 min): ${load(info.loadStart)} at the start, ${load(info.loadEnd)} at the end
- command: \`node bench/workload-identity.js${quick ? ' --quick' : ''}\` (total ${(msSince(t0) / 60_000).toFixed(1)} min)

${table}

One \`provenant serve --dev-login --spiffe-bundle ${TD}=FILE --spiffe-path ${TD}=/agent/*/instance/*
--txn-trust-domain ${TD}\` child process on SQLite. Three variants alternate round by round
(${rounds} rounds each after ${WARMUP} to warm up; each round ${BATCHES} requests of ${BATCH}
~1.1 KB low-risk records on ${CONNECTIONS} keep-alive connections): alice's credential exchanged
to an agent instance that authenticated with its registered Ed25519 key (the baseline); the same
exchange with a JWT-SVID (ES256, the bundle file's key) as the actor token, the SPIFFE id admitted
by its path; and the baseline credential with the collector's own Txn-Token in the \`Txn-Token\`
header of every request (verified on each, its verdict cached by digest; every record gets
\`correlation\`). The ratio is of median rounds; CPU is the collector's, per record.`;
  if (!values['no-write']) say(`wrote ${writeSection('workload-identity', section)}`);
} finally {
  await c.stop();

  removeDir(dir);
}
