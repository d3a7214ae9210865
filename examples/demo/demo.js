#!/usr/bin/env node
// `npm run demo`: alice asks a planner agent, which delegates to a researcher agent, which calls
// three tools — one denied by policy, one failing, one privileged and irreversible that policy
// allows — all scripted (no LLM), recorded through @provenant/sdk. See README.md beside this file.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URLSearchParams, fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { PolicyDeniedError, createRecorder } from '@provenant/sdk';

const POLICIES = fileURLToPath(new URL('../policies/', import.meta.url));
const serve = process.argv.includes('--serve');

// 1. A collector: the one that answers at PROVENANT_URL (default http://127.0.0.1:7410, where
// `npm start` listens), else a throwaway one of our own on a free port, in a temp folder.
const DEFAULT_URL = 'http://127.0.0.1:7410';
const REPLAY_PORT = 7411; // the hint's port for serving the throwaway data again: not npm start's
let url = (process.env.PROVENANT_URL ?? DEFAULT_URL).replace(/\/+$/, '');
let adminToken = process.env.PROVENANT_ADMIN_TOKEN;
let running = null;
let dataDir = process.env.PROVENANT_DATA ?? 'provenant-data';
if (await answers(url)) {
  if (!adminToken) {
    try {
      adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
    } catch {
      fail(
        `A collector answers at ${url}, but ${join(dataDir, 'admin.token')} cannot be read: set ` +
          'PROVENANT_DATA to its data folder (or PROVENANT_ADMIN_TOKEN) to register the demo agents.',
      );
    }
  }
  console.log(
    `collector  ${url}  (the one running; admin token from ${adminToken === process.env.PROVENANT_ADMIN_TOKEN ? 'PROVENANT_ADMIN_TOKEN' : join(dataDir, 'admin.token')})`,
  );
} else {
  const { startCollector } = await import('@provenant/server');
  dataDir = mkdtempSync(join(tmpdir(), 'provenant-demo-'));
  running = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    // Its admin token is written to <data>/admin.token, where the CLI hints below read it.
  });
  adminToken = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  url = running.url;
  console.log(
    `No collector answers at ${process.env.PROVENANT_URL ?? DEFAULT_URL} (start one with \`npm start\` to keep the records);\n` +
      `collector  ${url}  (a throwaway one on a free port, data in ${dataDir})`,
  );
}
// 2. The principals: alice, and one instance each of the planner and the researcher.
const suffix = randomBytes(2).toString('hex');
const planner = await agentIdentity(
  `spiffe://acme.test/agent/planner/instance/p${suffix}`,
  'planner',
);
const researcher = await agentIdentity(
  `spiffe://acme.test/agent/researcher/instance/r${suffix}`,
  'researcher',
);
await register({ id: 'user:alice', kind: 'human' }, true);
await register({
  id: planner.identity.principal,
  kind: 'agent_instance',
  agent: 'planner',
  publicJwks: [planner.publicJwk],
});
await register({
  id: researcher.identity.principal,
  kind: 'agent_instance',
  agent: 'researcher',
  publicJwks: [researcher.publicJwk],
});
const alice = await devLogin('alice', 'repo:read repo:write repo:admin');

// 3. The planner agent's recorder, and the researcher's tools.
const recorder = createRecorder({
  collectorUrl: url,
  identity: planner.identity,
  agent: { name: 'planner', version: '3.0.0' },
  spool: { dir: join(dataDir ?? tmpdir(), `demo-spool-${suffix}`), fsync: 'batch' },
});
const CRITICAL = { privileged: true, irreversible: true, external: true };
const deleteRepo = recorder.tool(
  'github.delete_repo',
  { resource: (a) => `repo:${a.repo}`, class: CRITICAL, risk: 'critical', server: 'github-mcp' },
  async (a) => ({ deleted: a.repo }),
);
const searchCode = recorder.tool(
  'github.search_code',
  { resource: (a) => `repo:${a.repo}`, risk: 'low', server: 'github-mcp' },
  async () => {
    throw new RateLimitError('GitHub search rate limit exceeded; retry in 42 s');
  },
);
const forcePush = recorder.tool(
  'github.push',
  {
    resource: (a) => `repo:${a.repo}`,
    class: CRITICAL,
    risk: 'high',
    server: 'github-mcp',
    redact: ['token'],
  },
  async (a) => ({ pushed: `${a.repo}@${a.ref}`, forced: true }),
);

class RateLimitError extends Error {
  name = 'RateLimitError';
}

// 4. The scripted run.
const taskId = `demo-${suffix}`;
const session = await recorder.session({
  initiatorToken: alice,
  taskId,
  prompt: 'Clean up acme/payments: drop the old repo and publish the fixed release branch.',
});
await session.run(async () => {
  step('alice → planner', 'asks to clean up acme/payments');
  await recorder.delegate(
    researcher.identity,
    {
      scope: ['repo:read', 'repo:write'],
      prompt: 'Find what to delete',
      agent: { name: 'researcher', version: '2.1.0' },
    },
    async () => {
      await attempt('github.delete_repo repo:acme/payments-old', () =>
        deleteRepo({ repo: 'acme/payments-old' }),
      );
      await attempt('github.search_code repo:acme/payments', () =>
        searchCode({ repo: 'acme/payments', q: 'TODO' }),
      );
    },
  );
  // alice's grant includes repo:admin; the planner hands it on for the release push only.
  await recorder.delegate(
    researcher.identity,
    {
      scope: ['repo:write', 'repo:admin'],
      prompt: 'Force-push the fixed release branch',
      agent: { name: 'researcher', version: '2.1.0' },
    },
    () =>
      attempt('github.push repo:acme/payments (force)', () =>
        forcePush({
          repo: 'acme/payments',
          ref: 'release/1.4',
          token: 'ghp_demo_not_a_real_token',
        }),
      ),
  );
});
await recorder.drain(10_000);
await recorder.close();

// 5. What landed (reading needs a role: the admin token holds every one).
const res = await fetch(`${url}/v1/events?trace_id=${session.traceId}&limit=1000`, {
  headers: { authorization: `Bearer ${adminToken}` },
});
if (!res.ok) fail(`Reading the trace failed: HTTP ${res.status} ${await res.text()}`);
const { events } = await res.json();
console.log(`\n${events.length} records in trace ${session.traceId}:\n`);
for (const e of events) {
  const who = e.actor?.agent ?? e.actor?.id ?? '';
  const what = e.action ? `${e.action.name} ${e.action.resource ?? ''}` : '';
  const outcome = e.outcome?.status ?? '';
  const level = e.attribution?.level ?? '';
  console.log(
    `  ${String(e.integrity?.leaf_index).padStart(4)}  ${e.type.padEnd(16)} ${who.padEnd(11)} ${what.padEnd(44)} ${outcome.padEnd(8)} ${level}`,
  );
}
console.log(`\ntrace id   ${session.traceId}`);
console.log(`task id    ${taskId}`);
if (running && !serve) {
  await running.close();
  const at = `http://127.0.0.1:${REPLAY_PORT}`;
  console.log(`\nInspect it (the throwaway collector stopped; its data stays in ${dataDir}):`);
  console.log(
    `  npx provenant serve --data ${dataDir} --port ${REPLAY_PORT} --dev-login --policies examples/policies &`,
  );
  console.log(
    `  npx provenant events --server ${at} --data ${dataDir} --trace-id ${session.traceId}`,
  );
  console.log(
    `  npx provenant events --server ${at} --data ${dataDir} --task-id ${taskId}   # with decisions`,
  );
} else {
  // The CLI reads the admin token from --data (default ./provenant-data) and the server from
  // --server (default http://127.0.0.1:7410).
  const server = url === DEFAULT_URL ? '' : ` --server ${url}`;
  const data = dataDir === 'provenant-data' ? '' : ` --data ${dataDir}`;
  console.log(`\nInspect it:`);
  console.log(`  npx provenant events${server}${data} --trace-id ${session.traceId}`);
  console.log(`  npx provenant events${server}${data} --task-id ${taskId}   # with decisions`);
  if (running) console.log('\nServing until Ctrl-C.');
}

/** Whether a Provenant collector answers at `base` (its /healthz, within a second). */
async function answers(base) {
  try {
    const r = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(1000) });
    const body = await r.json();
    return typeof body?.status === 'string';
  } catch {
    return false;
  }
}

async function attempt(label, fn) {
  try {
    const out = await fn();
    step('researcher', `${label}: ran → ${JSON.stringify(out)}`);
  } catch (e) {
    if (e instanceof PolicyDeniedError)
      step('researcher', `${label}: DENIED by ${e.determining.join(', ')}`);
    else step('researcher', `${label}: FAILED ${e.name}: ${e.message}`);
  }
}

function step(who, text) {
  console.log(`  ${who.padEnd(16)} ${text}`);
}

async function agentIdentity(principal, name) {
  const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
    crv: 'Ed25519',
    extractable: true,
  });
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return {
    identity: {
      principal,
      jwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' },
      agent: { name },
    },
    publicJwk: { ...pub, kid, alg: 'EdDSA' },
  };
}

async function register(principal, mayExist = false) {
  const r = await fetch(`${url}/v1/principals`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ shared: false, disabled: false, ...principal }),
  });
  if (r.status !== 201 && !(mayExist && r.status === 409)) {
    fail(`Registering ${principal.id} failed: ${await r.text()}`);
  }
}

async function devLogin(user, scope) {
  const r = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
      username: user,
      scope,
    }).toString(),
  });
  const body = await r.json();
  if (!body.access_token)
    fail(`dev-login failed (is the collector started with --dev-login?): ${JSON.stringify(body)}`);
  return body.access_token;
}

function fail(message) {
  console.error(message);
  process.exit(1);
}
