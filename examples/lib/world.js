// Shared by the framework examples: a collector of our own in a temp folder (with the example
// policies and the development sign-in), alice, a planner and a researcher agent instance
// registered at it, and a printout of what the collector stored.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { URLSearchParams, fileURLToPath } from 'node:url';
import { calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose';
import { startCollector } from '@provenant/server';

const POLICIES = fileURLToPath(new URL('../policies/', import.meta.url));

/** Starts the collector and registers the scenario's principals; `close()` stops it. */
export async function world(name) {
  const dataDir = mkdtempSync(join(tmpdir(), `provenant-${name}-`));
  const adminToken = randomBytes(16).toString('hex');
  const running = await startCollector({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    policiesDir: POLICIES,
    identity: { devLogin: true },
    adminToken,
  });
  const url = running.url;
  const admin = { authorization: `Bearer ${adminToken}` };
  const register = async (principal) => {
    const res = await fetch(`${url}/v1/principals`, {
      method: 'POST',
      headers: { ...admin, 'content-type': 'application/json' },
      body: JSON.stringify({ shared: false, disabled: false, ...principal }),
    });
    if (res.status !== 201) throw new Error(`register failed: ${await res.text()}`);
  };
  const agent = async (agentName, instance) => {
    const principal = `spiffe://acme.test/agent/${agentName}/instance/${instance}`;
    const { privateKey, publicKey } = await generateKeyPair('EdDSA', {
      crv: 'Ed25519',
      extractable: true,
    });
    const pub = await exportJWK(publicKey);
    const kid = await calculateJwkThumbprint(pub);
    await register({
      id: principal,
      kind: 'agent_instance',
      agent: agentName,
      publicJwks: [{ ...pub, kid, alg: 'EdDSA' }],
    });
    return { principal, jwk: { ...(await exportJWK(privateKey)), kid, alg: 'EdDSA' } };
  };
  await register({ id: 'user:alice', kind: 'human' });
  const planner = await agent('planner', '19c2');
  const researcher = await agent('researcher', '7f3a');
  const login = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:provenant:params:oauth:grant-type:dev-login',
      username: 'alice',
      scope: 'repo:read repo:write',
    }).toString(),
  });
  const alice = (await login.json()).access_token;
  console.log(`collector  ${url}  (data in ${dataDir})`);
  return {
    url,
    alice,
    planner,
    researcher,
    /** Registers one more agent instance; answers its identity. */
    agent,
    /** The admin token's header, for reads. */
    admin,
    /** Prints the task's records as the collector stored them. */
    async print(taskId) {
      const res = await fetch(`${url}/v1/events?task_id=${taskId}&limit=1000`, { headers: admin });
      const { events } = await res.json();
      console.log(`\n${events.length} records of task ${taskId}:\n`);
      for (const e of events) {
        const who = e.actor?.agent ?? e.actor?.id ?? '';
        const what = e.action ? `${e.action.name} ${e.action.resource ?? ''}` : '';
        const chain = (e.delegation ?? []).map((h) => h.to.split('/')[4] ?? h.to).join(' → ');
        console.log(
          `  ${e.type.padEnd(16)} ${who.padEnd(11)} ${what.padEnd(40)} ${(e.outcome?.status ?? '').padEnd(8)} ${(e.attribution?.level ?? '').padEnd(9)} ${chain ? `alice → ${chain}` : ''}`,
        );
      }
      const traces = new Set(
        events.filter((e) => e.type !== 'policy.decision').map((e) => e.trace?.trace_id),
      );
      console.log(`\ntrace ids  ${[...traces].join(', ')}`);
      return events;
    },
    close: () => running.close(),
  };
}

/** A line of the story. */
export function step(who, text) {
  console.log(`  ${who.padEnd(12)} ${text}`);
}
