// The ledger the console's analyst tests search: a few thousand records of ordinary activity
// spread over three days (anonymous, so `asserted`), alerts the collector's own detections
// raise over them, and one investigation story recorded through the real SDK with verified
// credentials — alice asks the planner, the planner delegates to the researcher, the
// researcher's deletion of repo:acme/payments-old is denied by policy, its push to
// repo:acme/payments is allowed, its code search fails.
import { randomUUID } from 'node:crypto';
import { SignJWT, importJWK } from 'jose';
import { uuidv7 } from '@provenant/core';
import { PolicyDeniedError, createRecorder } from '@provenant/sdk';
import type { AgentIdentity } from '@provenant/sdk';
import type { RunningCollector } from '@provenant/server';
import { ADMIN_HEADERS } from './collector.js';
import { PLANNER, RESEARCHER, scenario } from './sdk.js';

export { PLANNER, RESEARCHER };

/** Filler resources never start with `repo:acme/payments`, so searches for the story are exact. */
const RESOURCES = [
  ...Array.from({ length: 30 }, (_, i) => `repo:acme/svc-${String(i).padStart(2, '0')}`),
  ...Array.from({ length: 10 }, (_, i) => `db:prod/table-${i}`),
  ...Array.from({ length: 10 }, (_, i) => `s3:bucket-${i}`),
];
/** Actions the catalog gives no class (anonymous records of classed actions are refused). */
const ACTIONS = ['github.get_file', 'github.list_issues', 'github.search_code', 'db.query'];
const OUTCOMES = ['success', 'success', 'success', 'success', 'success', 'denied', 'error'];
const DAY_MS = 24 * 3600_000;

export interface AnalystLedger {
  /** Records of ordinary activity posted (all accepted). */
  readonly filler: number;
  /** The story's trace id and its records by name. */
  readonly traceId: string;
  readonly deleteId: string;
  readonly pushId: string;
  readonly searchId: string;
  /** A filler action one hour old on a resource of its own, `asserted`. */
  readonly assertedId: string;
  readonly assertedResource: string;
  /** The record refused for contradicting its credential (its alert names it; not stored). */
  readonly refusedId: string;
}

/** A filler record; `i` spreads them evenly over the last three days, oldest first. */
function filler(i: number, n: number, now: number): Record<string, unknown> {
  const time = now - 3 * DAY_MS + Math.floor(((3 * DAY_MS - 2 * 3600_000) * i) / n);
  const outcome = OUTCOMES[i % OUTCOMES.length]!;
  const worker = i % 12;
  return {
    schema: 'provenant.event/v1',
    id: uuidv7(time),
    time: new Date(time).toISOString(),
    type: i % 10 === 9 ? 'action.performed' : 'tool.called',
    initiator: { id: `user:u${String(i % 20).padStart(2, '0')}`, kind: 'human' },
    actor: {
      id: `spiffe://acme.test/agent/worker/instance/w${worker}`,
      kind: 'agent_instance',
    },
    action: { name: ACTIONS[i % ACTIONS.length]!, resource: RESOURCES[i % RESOURCES.length]! },
    outcome:
      outcome === 'error' ? { status: 'error', error: { code: 'E_TIMEOUT' } } : { status: outcome },
  };
}

async function post(c: RunningCollector, body: unknown, token?: string) {
  const res = await c.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: {
      'content-type': 'application/json',
      ...(token ? { authorization: `Bearer ${token}` } : {}),
    },
    payload: JSON.stringify(body),
  });
  return res.json() as { accepted: { id: string }[]; rejected: { code: string }[] };
}

/** Fills the collector (started with anonymous ingest `asserted`) and records the story. */
export async function buildAnalystLedger(c: RunningCollector, n = 3000): Promise<AnalystLedger> {
  const now = Date.now();
  for (let at = 0; at < n; at += 500) {
    const batch = Array.from({ length: Math.min(500, n - at) }, (_, k) => filler(at + k, n, now));
    const { accepted, rejected } = await post(c, batch);
    if (accepted.length !== batch.length) {
      throw new Error(`filler refused: ${JSON.stringify(rejected.slice(0, 3))}`);
    }
  }
  // One asserted action of its own, an hour ago, to open from a search.
  const assertedResource = 'repo:acme/ledger-tools';
  const asserted = {
    ...filler(0, n, now),
    id: uuidv7(now - 3600_000),
    time: new Date(now - 3600_000).toISOString(),
    action: { name: 'github.get_file', resource: assertedResource },
    outcome: { status: 'success' },
  };
  if ((await post(c, [asserted])).accepted.length !== 1) throw new Error('asserted refused');

  const s = await scenario(c.url);
  const recorder = createRecorder({
    collectorUrl: c.url,
    identity: s.planner,
    agent: { name: 'planner', version: '3.0.0' },
    spool: false,
    batch: { maxRecords: 100, maxDelayMs: 5 },
  });
  const CRITICAL = { privileged: true, irreversible: true, external: true };
  const deleteRepo = recorder.tool(
    'github.delete_repo',
    { resource: (repo: string) => `repo:${repo}`, class: CRITICAL, risk: 'critical' },
    async (repo: string) => ({ deleted: repo }),
  );
  const push = recorder.tool(
    'github.push',
    { resource: (repo: string) => `repo:${repo}`, class: { external: true }, risk: 'high' },
    async (repo: string) => ({ pushed: repo }),
  );
  const searchCode = recorder.tool(
    'github.search_code',
    { resource: (repo: string) => `repo:${repo}`, risk: 'low' },
    async () => {
      throw new Error('GitHub search rate limit exceeded');
    },
  );
  let traceId = '';
  await recorder.session({ initiatorToken: s.alice, taskId: 'task-cleanup' }, async () => {
    traceId = recorder.current()?.traceId ?? '';
    await recorder.delegate(
      s.researcher,
      { scope: ['repo:read', 'repo:write'], agent: { name: 'researcher', version: '2.1.0' } },
      async () => {
        await deleteRepo('acme/payments-old').then(
          () => {
            throw new Error('the deletion was meant to be denied');
          },
          (e: unknown) => {
            if (!(e instanceof PolicyDeniedError)) throw e;
          },
        );
        await push('acme/payments');
        await searchCode('acme/payments').catch(() => undefined);
      },
    );
  });
  await recorder.drain(10_000);
  await recorder.close();

  // A record that contradicts its credential (the researcher acting for bob claims another
  // initiator): refused, and the collector writes an alert naming the credential's holder.
  const researcherForBob = await exchange(c.url, s.bob, s.researcher);
  const refusedId = uuidv7();
  const refused = await post(
    c,
    [{ ...filler(1, n, now), id: refusedId, time: new Date().toISOString() }],
    researcherForBob,
  );
  if (refused.rejected?.[0]?.code !== 'attribution_mismatch') {
    throw new Error(`expected attribution_mismatch: ${JSON.stringify(refused)}`);
  }

  const res = await fetch(`${c.url}/v1/events?task_id=task-cleanup&limit=100`, {
    headers: ADMIN_HEADERS,
  });
  const story = ((await res.json()) as { events: StoryRecord[] }).events;
  const find = (name: string, status: string) => {
    const r = story.find(
      (e) => e.type === 'tool.called' && e.action?.name === name && e.outcome?.status === status,
    );
    if (!r)
      throw new Error(`no ${name} → ${status} in ${JSON.stringify(story.map((e) => e.type))}`);
    return r.id;
  };
  return {
    filler: n,
    traceId,
    deleteId: find('github.delete_repo', 'denied'),
    pushId: find('github.push', 'success'),
    searchId: find('github.search_code', 'error'),
    assertedId: asserted.id,
    assertedResource,
    refusedId,
  };
}

/** The agent's credential for `subjectToken`'s holder (RFC 8693 token exchange). */
async function exchange(url: string, subjectToken: string, agent: AgentIdentity): Promise<string> {
  const key = await importJWK(agent.jwk, 'EdDSA');
  const assertion = await new SignJWT({})
    .setProtectedHeader({ alg: 'EdDSA', kid: agent.jwk.kid! })
    .setIssuer(agent.principal)
    .setSubject(agent.principal)
    .setAudience(`${url}/v1/token`)
    .setIssuedAt()
    .setExpirationTime('1m')
    .setJti(randomUUID())
    .sign(key);
  const res = await fetch(`${url}/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: subjectToken,
      subject_token_type: 'urn:ietf:params:oauth:token-type:access_token',
      actor_token: assertion,
      actor_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    }).toString(),
  });
  const body = (await res.json()) as { access_token?: string };
  if (!body.access_token) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return body.access_token;
}

interface StoryRecord {
  id: string;
  type: string;
  action?: { name: string };
  outcome?: { status: string };
}
